/*
 * NetBSD <uvm/uvm_extern.h>: flags, counters and the interfaces between
 * UVM's parts.
 */
#ifndef UVMEMU_UVM_EXTERN_H
#define UVMEMU_UVM_EXTERN_H

#include <sys/types.h>
#include <sys/mutex.h>
#include <stdbool.h>
#include <uvm/uvm_param.h>

#define UVM_FLAG_NOWAIT	0x080000	/* not allowed to sleep */

/* uvm_mapent_trymerge flags */
#define UVM_MERGE_COPYING	1

/* system-wide counters (the fields the emulator maintains) */
struct uvmexp {
	int npages;	/* number of pages we manage */
	int free;	/* number of free pages */
	int active;	/* number of active pages */
	int inactive;	/* number of pages that we free'd but may want back */
	int wired;	/* number of wired pages */
	int anonpages;	/* number of pages used by anon mappings */
	int zeropages;	/* pages zeroed by uvm_pagezero */
	int freemin;	/* the page daemon wakes below this */
	int freetarg;	/* the page daemon frees up to this */
	int swpages;	/* number of swap pages */
	int swpgavail;	/* number of swap pages currently available */
	int swpginuse;	/* number of swap pages in use */
	int swpgonly;	/* number of swap pages in use, not also in RAM */
	int nswget;	/* number of times fault calls uvm_swap_get() */
	int pgswapin;	/* pages swapped in */
	int pgswapout;	/* pages swapped out */
	int pga_zerohit;
	int pagealloc_fail;	/* uvm_pagealloc returned NULL */
	int cowfaults;	/* copy-on-write faults */
	int fltanget;	/* anon page faults */
	int fltnoram;	/* number of times fault was out of ram */
	int fltpgwait;	/* number of times fault had to wait on a page */

	/* daemon counters */
	int pdwoke;	/* number of times daemon has woken up */
	int pdrevs;	/* number of times daemon has rev'd clock hand */
	int pdfreed;	/* number of pages daemon has freed since boot */
	int pdscans;	/* number of pages daemon has scanned since boot */
	int pdanscan;	/* number of anonymous pages scanned by daemon */
	int pdreact;	/* number of pages daemon reactivated since boot */
	int pdbusy;	/* number of times daemon found a busy page */
	int pdpageouts;	/* number of times daemon started a pageout */
	int pddeact;	/* number of pages daemon deactivates */
};
extern struct uvmexp uvmexp;
extern unsigned int uvm_extrapages;

/* lib/uvm_page.cc: sleep until pages may be free */
void	uvm_wait(const char *);

/*
 * sleep on a busy page's wait channel, dropping the interlock; the
 * caller re-takes what it needs.
 */
void	uvm_unlock_and_wait(void *, kmutex_t *, bool, const char *, int);
#define UVM_UNLOCK_AND_WAIT(event, slock, intr, msg, timo)		\
	uvm_unlock_and_wait((event), (slock), (intr), (msg), (timo))

#endif
