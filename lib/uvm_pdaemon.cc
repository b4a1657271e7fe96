/*
 * uvm_pdaemon.cc: the page daemon
 *
 * What NetBSD's uvm_pdaemon.c (with the clock policy of
 * uvm_pdpolicy_clock.c) of the 5.0 era does for anonymous memory: when
 * free memory runs short, scan the inactive queue and page its anon
 * pages out to swap, refilling the inactive queue from the active one.
 * A page referenced since it was deactivated gets a second chance (back
 * to the active queue); a clean page (its data is still in its swap
 * slot since a page-in) is freed without writing; a dirty page drops
 * any stale slot, gets a new one, is written and freed.
 *
 * The swap device is memory (uvm_swap.cc), so a page-out is a copy,
 * done synchronously with the page queues and the anon locked: there
 * are no pageout clusters, no PG_PAGEOUT pages in flight and no
 * uvmexp.paging.
 *
 * Who runs it:
 *	- the page daemon kernel thread, uvm_pageout(), when the machine
 *	  runs one (KernelConfig::pagedaemon_thread): uvm_wait() and
 *	  uvm_pagealloc() wake it, it pages out until free memory is back
 *	  at its target, and uvm_pagefree() wakes the uvm_wait() sleepers;
 *	- otherwise uvm_wait(), inline, when uvm_pageout_needed(): the LWP
 *	  that waits for memory does the daemon's work itself (see uvm_wait
 *	  in uvm_page.cc);
 *	- tests and the Machine API (uvm_pageout_run, uvm_pageout_range).
 */

#include "opt_uvmhist.h"

#include <sys/param.h>
#include <sys/proc.h>
#include <sys/systm.h>

#include <uvm/uvm.h>

#include "emu/sched_hooks.h"

/*
 * the clock policy keeps this percentage of the pageable pages on the
 * inactive queue.
 */
#define UVMPD_INACTIVEPCT	33

/*
 * scans of the inactive queue one run makes at most: a pass that frees
 * too little refills the queue from the active one for the next.
 */
#define UVMPD_NPASSES		4

/*
 * the page daemon kernel thread's LWP id, 0 when there is none.
 */
int uvm_pagedaemon_lid;

/*
 * uvmpd_tune: set the free-page thresholds of the page daemon.
 *
 * => freemin and freetarg of 0 are set from the memory size, as the
 *    kernel does (a twentieth of memory, between 16 KiB and 256 KiB,
 *    and a third more), except that on a machine of a few pages
 *    freemin is at most an eighth of memory.
 * => called at boot, after uvm_page_init() has set uvmexp.npages.
 */

void
uvmpd_tune(int freemin, int freetarg)
{

	KASSERT(freemin >= 0 && freetarg >= 0);
	if (freemin == 0) {
		freemin = uvmexp.npages / 20;

		/* between 16k and 256k */
		freemin = MAX(freemin, (16*1024) >> PAGE_SHIFT);
		freemin = MIN(freemin, (256*1024) >> PAGE_SHIFT);
		freemin = MIN(freemin, MAX(uvmexp.npages / 8, 1));
	}
	if (freetarg == 0) {
		freetarg = (freemin * 4) / 3;
		if (freetarg <= freemin)
			freetarg = freemin + 1;
	}
	if (freetarg <= freemin)
		panic("uvmpd_tune: free target %d is not above the free "
		    "minimum %d", freetarg, freemin);
	uvmexp.freemin = freemin;
	uvmexp.freetarg = freetarg;
}

/*
 * uvm_pageout_needed: should the page daemon run?
 *
 * => the kernel wakes the page daemon when free memory falls below
 *    freemin; it then frees up to freetarg.
 */

bool
uvm_pageout_needed(void)
{

	return uvmexp.free < uvmexp.freemin;
}

/*
 * uvm_reclaimable: could uvm_wait() bring free memory back?
 *
 * => the kernel asks whether swap is full (file pages, which could be
 *    reclaimed anyway, do not exist here).  in addition:
 *	- a page is free: the allocation was made to fail (failure
 *	  injection), and a retry after uvm_wait can succeed;
 *	- no page is on a paging queue (all are wired or being set up):
 *	  the page daemon has nothing to page out.
 */

bool
uvm_reclaimable(void)
{

	if (uvmexp.free > 0)
		return true;
	if (uvmexp.active + uvmexp.inactive == 0)
		return false;

	return !uvm_swapisfull();
}

/*
 * uvmpd_dropswap: release the swap slot of a resident anon page (its
 * copy there is about to be stale, or the slot is wanted elsewhere).
 *
 * => the anon is locked.  true if there was a slot.
 */

static bool
uvmpd_dropswap(struct vm_page *pg)
{
	struct vm_anon *anon = pg->uanon;

	KASSERT(anon != NULL && mutex_owned(&anon->an_lock));
	if (anon->an_swslot == 0)
		return false;
	uvm_anon_dropswap(anon);
	pg->flags &= ~PG_CLEAN;
	return true;
}

/*
 * uvmpd_pageout_page: page an anon's page out and free it.
 *
 * => page queues and the anon locked; the page is not busy, wired or
 *    loaned.
 * => returns 0 (the page is freed: the anon's data is only in its swap
 *    slot now) or ENOSPC (no swap slot: the page is reactivated, so
 *    that all pages eventually cycle through the inactive queue).
 */

static int
uvmpd_pageout_page(struct vm_page *pg)
{
	struct vm_anon *anon = pg->uanon;
	int slot, nslots;
	UVMHIST_FUNC("uvmpd_pageout_page"); UVMHIST_CALLED(pdhist);

	KASSERT(mutex_owned(&uvm_pageqlock));
	KASSERT(anon != NULL && anon->an_page == pg);
	KASSERT(mutex_owned(&anon->an_lock));
	KASSERT((pg->flags & PG_BUSY) == 0);
	KASSERT(pg->wire_count == 0 && pg->loan_count == 0);

	/*
	 * unmap the page everywhere first: nobody can write it after we
	 * have looked at its modified bit.  a clean page can go at once.
	 */

	pmap_page_protect(pg, VM_PROT_NONE);
	if ((pg->flags & PG_CLEAN) != 0 && pmap_clear_modify(pg))
		pg->flags &= ~PG_CLEAN;
	if (pg->flags & PG_CLEAN) {

		/*
		 * an anon's page is clean only when its swap slot holds
		 * the same data (it was paged in and not written since).
		 */

		if (anon->an_swslot == 0)
			panic("uvmpd_pageout_page: anon %p: page %p is clean "
			    "but has no swap slot", anon, pg);
		uvm_pagefree(pg);
		uvmexp.pdfreed++;
		uvmexp.swpgonly++;	/* its data is only in the slot now */
		UVMHIST_LOG(pdhist, "  freed clean page of anon %p (slot %d)",
		    anon, anon->an_swslot, 0, 0);
		return 0;
	}

	/*
	 * dirty: an old slot holds stale data; give it up and write the
	 * page to a new one.  without a slot the page goes back to the
	 * active queue, to come round again later.
	 */

	uvmpd_dropswap(pg);

	nslots = 1;
	slot = uvm_swapisfull() ? 0 : uvm_swap_alloc(&nslots, false);
	if (slot == 0) {
		uvm_pageactivate(pg);
		UVMHIST_LOG(pdhist, "  no swap for anon %p page %p", anon, pg,
		    0, 0);
		return ENOSPC;
	}

	/*
	 * write the page.  the swap device is memory: the write is done
	 * when uvm_swap_put returns, and the page can be freed at once
	 * (the kernel frees it when the asynchronous write completes).
	 */

	uvm_swap_put(slot, uvm_pagedata(pg));
	anon->an_swslot = slot;
	uvmexp.pdpageouts++;
	uvmexp.pgswapout++;
	uvm_pagefree(pg);
	uvmexp.pdfreed++;
	uvmexp.swpgonly++;
	UVMHIST_LOG(pdhist, "  paged out anon %p to slot %d", anon, slot,
	    0, 0);
	return 0;
}

/*
 * uvmpd_scan_inactive: scan the inactive queue, paging out pages until
 * target pages are freed.
 *
 * => page queues locked.
 * => a page's anon lock is taken with mutex_tryenter: the usual order
 *    is anon before page queues, so a contended anon is skipped.
 * => returns the number of pages freed.
 */

static int
uvmpd_scan_inactive(int target)
{
	struct vm_page *pg, *nextpg;
	struct vm_anon *anon;
	int freed;

	KASSERT(mutex_owned(&uvm_pageqlock));
	uvmexp.pdrevs++;
	freed = 0;
	for (pg = uvm_pageq_first(PQ_INACTIVE); pg != NULL && freed < target;
	    pg = nextpg) {

		/*
		 * only pg moves (to the active queue or the free list).
		 */

		nextpg = uvm_pageq_next(pg);
		uvmexp.pdscans++;

		/*
		 * a page that belongs to no anon has nowhere to go.
		 */

		anon = pg->uanon;
		if (anon == NULL)
			continue;
		uvmexp.pdanscan++;
		if (!mutex_tryenter(&anon->an_lock))
			continue;
		if (pg->flags & PG_BUSY) {
			mutex_exit(&anon->an_lock);
			uvmexp.pdbusy++;
			continue;
		}
		KASSERT(pg->wire_count == 0);
		if (pg->loan_count != 0) {
			mutex_exit(&anon->an_lock);
			continue;
		}

		/*
		 * used since it was deactivated: back to the active queue
		 * (the second chance).
		 */

		if (pmap_is_referenced(pg)) {
			uvm_pageactivate(pg);
			uvmexp.pdreact++;
			mutex_exit(&anon->an_lock);
			continue;
		}
		if (uvmpd_pageout_page(pg) == 0)
			freed++;
		mutex_exit(&anon->an_lock);
	}
	return freed;
}

/*
 * uvmpd_balancequeue: move pages from the head of the active queue (the
 * oldest) to the inactive queue, clearing their referenced bits, until
 * the inactive queue holds its share of the pageable pages or want
 * pages have moved; on the way, take the swap slots of up to
 * swap_shortage resident pages (which makes them dirty) so that there
 * are slots to page out to.
 *
 * => page queues locked.
 * => returns the number of pages moved.
 */

static int
uvmpd_balancequeue(int want, int swap_shortage)
{
	struct vm_page *pg, *nextpg;
	struct vm_anon *anon;
	int inactarg, shortage, moved;

	KASSERT(mutex_owned(&uvm_pageqlock));
	inactarg = (uvmexp.active + uvmexp.inactive) * UVMPD_INACTIVEPCT / 100;
	shortage = MAX(inactarg - uvmexp.inactive, want);
	moved = 0;
	for (pg = uvm_pageq_first(PQ_ACTIVE);
	    pg != NULL && (moved < shortage || swap_shortage > 0);
	    pg = nextpg) {
		nextpg = uvm_pageq_next(pg);
		anon = pg->uanon;
		if (anon == NULL || !mutex_tryenter(&anon->an_lock))
			continue;

		/*
		 * slots short: take this page's (the page becomes dirty).
		 */

		if (swap_shortage > 0 && (pg->flags & PG_BUSY) == 0 &&
		    uvmpd_dropswap(pg))
			swap_shortage--;

		if (moved < shortage) {
			pmap_clear_reference(pg);
			uvm_pagedeactivate(pg);
			uvmexp.pddeact++;
			moved++;
		}
		mutex_exit(&anon->an_lock);
	}
	return moved;
}

/*
 * uvm_pageout_run: one run of the page daemon: free up to target pages.
 *
 * => called with no locks held (the page queues are taken).
 * => returns the number of pages freed: fewer than target if the rest
 *    cannot be paged out (wired, busy or locked pages, full swap).
 */

int
uvm_pageout_run(int target)
{
	int freed, pass, swap_shortage;
	UVMHIST_FUNC("uvm_pageout_run"); UVMHIST_CALLED(pdhist);

	KASSERT(target >= 0);
	if (mutex_owned(&uvm_pageqlock))
		panic("uvm_pageout_run: called with the page queues locked");
	UVMHIST_LOG(pdhist, "  target %d, free %d, active %d, inactive %d",
	    target, uvmexp.free, uvmexp.active, uvmexp.inactive);
	uvmexp.pdwoke++;
	freed = 0;
	mutex_enter(&uvm_pageqlock);
	for (pass = 0; pass < UVMPD_NPASSES && freed < target; pass++) {
		freed += uvmpd_scan_inactive(target - freed);
		if (freed >= target)
			break;

		/*
		 * every slot is allocated although swap is not full: some
		 * are held by resident pages; take them back so that there
		 * is somewhere to write to.
		 */

		swap_shortage = 0;
		if (uvmexp.swpginuse >= uvmexp.swpgavail &&
		    !uvm_swapisfull())
			swap_shortage = target - freed;
		if (uvmpd_balancequeue(target - freed, swap_shortage) == 0 &&
		    swap_shortage == 0)
			break;
	}
	mutex_exit(&uvm_pageqlock);
	UVMHIST_LOG(pdhist, "<- freed %d, free %d", freed, uvmexp.free, 0, 0);
	return freed;
}

/*
 * uvm_pageout_anon: page out one anon's page now, whatever the queues
 * say (for tests and scenarios that choose what is paged out).
 *
 * => anon locked (and still locked on return).
 * => returns 0 (paged out, or freed if clean), ENOENT (no resident
 *    page), EBUSY (busy, wired or loaned page) or ENOSPC (no swap slot).
 */

int
uvm_pageout_anon(struct vm_anon *anon)
{
	struct vm_page *pg;
	int error;

	KASSERT(mutex_owned(&anon->an_lock));
	pg = anon->an_page;
	if (pg == NULL)
		return ENOENT;
	if ((pg->flags & PG_BUSY) != 0 || pg->wire_count != 0 ||
	    pg->loan_count != 0)
		return EBUSY;
	mutex_enter(&uvm_pageqlock);
	error = uvmpd_pageout_page(pg);
	mutex_exit(&uvm_pageqlock);
	return error;
}

/*
 * uvm_pageout_range: page out every resident anon page of [start, end)
 * in map that can be (as uvm_pageout_anon).
 *
 * => map unlocked.  returns the number of pages paged out.
 */

int
uvm_pageout_range(struct vm_map *map, vaddr_t start, vaddr_t end)
{
	struct vm_map_entry *entry;
	struct vm_amap *amap;
	struct vm_anon *anon;
	vaddr_t va, lo, hi;
	int n;

	KASSERT(start <= end);
	n = 0;
	mutex_enter(&map->lock);
	for (entry = uvm_map_first(map); entry != NULL;
	    entry = uvm_map_next(map, entry)) {
		if (entry->end <= start || entry->start >= end)
			continue;
		amap = entry->aref.ar_amap;
		if (amap == NULL)
			continue;
		lo = MAX(entry->start, trunc_page(start));
		hi = MIN(entry->end, round_page(end));
		amap_lock(amap);
		for (va = lo; va < hi; va += PAGE_SIZE) {
			anon = amap_lookup(&entry->aref, va - entry->start);
			if (anon == NULL)
				continue;
			mutex_enter(&anon->an_lock);
			if (uvm_pageout_anon(anon) == 0)
				n++;
			mutex_exit(&anon->an_lock);
		}
		amap_unlock(amap);
	}
	mutex_exit(&map->lock);
	return n;
}

/*
 * uvm_pageout: the page daemon's main loop (a kernel thread).
 *
 * => sleeps on &uvm_pagedaemon_wchan until free memory is short, then
 *    pages out until it is back at uvmexp.freetarg.  the pages it frees
 *    wake the uvm_wait() sleepers (uvm_pagefree).
 * => a run that frees nothing (everything wired, busy or swap full)
 *    sleeps until the next uvm_wait() wakes it, rather than spinning:
 *    if nobody else can free memory either, the scheduler reports the
 *    deadlock.
 * => returns when asked to stop (uvm_pageout_stop).
 */

static void
uvm_pageout(void)
{
	int freed;
	UVMHIST_FUNC("uvm_pageout"); UVMHIST_CALLED(pdhist);

	for (;;) {
		mutex_enter(&uvm_fpageqlock);
		while (!uvm_pageout_needed() &&
		    !uvmemu::sched::StopRequested())
			mtsleep(&uvm_pagedaemon_wchan, PVM, "pgdaemon", 0,
			    &uvm_fpageqlock);
		mutex_exit(&uvm_fpageqlock);
		if (uvmemu::sched::StopRequested())
			break;

		freed = uvm_pageout_run(uvmexp.freetarg - uvmexp.free);
		UVMHIST_LOG(pdhist, "  freed %d, free %d", freed,
		    uvmexp.free, 0, 0);
		if (freed == 0) {
			mutex_enter(&uvm_fpageqlock);
			if (!uvmemu::sched::StopRequested())
				mtsleep(&uvm_pagedaemon_wchan, PVM,
				    "pgdaemon", 0, &uvm_fpageqlock);
			mutex_exit(&uvm_fpageqlock);
		}
	}
	UVMHIST_LOG(pdhist, "<- stopped", 0, 0, 0, 0);
}

/*
 * uvm_pageout_start: start the page daemon kernel thread (at boot).
 */

void
uvm_pageout_start(void)
{

	KASSERT(uvm_pagedaemon_lid == 0);
	uvm_pagedaemon_lid = uvmemu::sched::SpawnKernelThread("pagedaemon",
	    uvm_pageout);
}

/*
 * uvm_pageout_stop: stop the page daemon kernel thread (at shutdown).
 */

void
uvm_pageout_stop(void)
{
	int lid;

	if (uvm_pagedaemon_lid == 0)
		return;
	lid = uvm_pagedaemon_lid;
	uvm_pagedaemon_lid = 0;
	uvmemu::sched::StopKernelThread(lid);
}
