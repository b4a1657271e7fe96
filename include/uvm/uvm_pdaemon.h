/*
 * NetBSD <uvm/uvm_pdaemon.h>: the page daemon (lib/uvm_pdaemon.cc).
 *
 * The page-out is synchronous (the swap device is memory): a scan frees
 * pages by writing anon pages to swap.  The page daemon kernel thread
 * (uvm_pageout_start) runs uvm_pageout_run() whenever
 * uvm_pageout_needed(); without it, uvm_wait() runs the page-out inline
 * (docs/paging.md).
 */
#ifndef UVMEMU_UVM_PDAEMON_H
#define UVMEMU_UVM_PDAEMON_H

#include <sys/types.h>
#include <stdbool.h>
#include <uvm/uvm_param.h>

struct vm_anon;
struct vm_map;

/* boot: the free-page targets (0 means tuned from the memory size) */
void	uvmpd_tune(int freemin, int freetarg);

/* is free memory below the page daemon's wake-up threshold? */
bool	uvm_pageout_needed(void);

/* one page-out run: free up to target pages; returns the pages freed */
int	uvm_pageout_run(int);

/* page out one anon's page (anon locked): 0, EBUSY, ENOENT or ENOSPC */
int	uvm_pageout_anon(struct vm_anon *);

/* page out the resident anon pages of [start, end) in map: count */
int	uvm_pageout_range(struct vm_map *, vaddr_t, vaddr_t);

/* the page daemon kernel thread: its LWP id (0: none), start, stop */
extern int uvm_pagedaemon_lid;
void	uvm_pageout_start(void);
void	uvm_pageout_stop(void);

/* could waiting for the page daemon free memory? */
bool	uvm_reclaimable(void);

#endif
