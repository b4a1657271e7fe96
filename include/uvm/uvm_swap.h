/*
 * NetBSD <uvm/uvm_swap.h>: swap slots.
 */
#ifndef UVMEMU_UVM_SWAP_H
#define UVMEMU_UVM_SWAP_H

#include <sys/types.h>

#define SWSLOT_BAD	(-1)

/* lib/uvm_swap.cc */
void	uvm_swap_free(int, int);
int	uvm_swap_inuse(void);

#endif
