/*
 * NetBSD <sys/kernel.h>: global kernel variables.
 */
#ifndef UVMEMU_SYS_KERNEL_H
#define UVMEMU_SYS_KERNEL_H

#include <sys/types.h>

extern int hz;

#endif
