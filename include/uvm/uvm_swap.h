/*
 * NetBSD <uvm/uvm_swap.h>: swap slots.
 */
#ifndef UVMEMU_UVM_SWAP_H
#define UVMEMU_UVM_SWAP_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>

#define SWSLOT_BAD	(-1)

/*
 * lib/uvm_swap.cc: an in-memory swap device of nslots 4 KiB slots,
 * numbered from 1 (slot 0 means "no slot").
 */
void	uvm_swap_init(size_t);		/* boot: nslots of swap */
void	uvm_swap_shutdown(void);
int	uvm_swap_alloc(int *, bool);	/* first slot of a run, 0 if full */
void	uvm_swap_free(int, int);
void	uvm_swap_put(int, const void *);	/* page -> slot */
void	uvm_swap_get(int, void *);		/* slot -> page */
int	uvm_swap_inuse(void);
int	uvm_swap_rangeinuse(int, int);	/* slots of [start, end) in use */
bool	uvm_swapisfull(void);	/* every available slot only in swap */
int	uvm_swapoff(int, int);	/* slots [start, end): 0 or an errno */
int	uvm_swapon(int, int);	/* undo uvm_swapoff of [start, end) */
int	uvm_swap_devsize(void);	/* slots on the device, on or off */
bool	uvm_swap_slotison(int);

#endif
