#ifndef UVMEMU_SYS_PROC_H
#define UVMEMU_SYS_PROC_H

#include <sys/lwp.h>

#endif
