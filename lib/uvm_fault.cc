/*
 * uvm_fault.cc: page fault handling for anonymous memory
 *
 * The fault handler of NetBSD's uvm_fault.c of the 5.0 era (the
 * revision that goes with uvm_amap.c 1.87), for the memory this machine
 * has: anonymous memory only, so of the kernel's cases there are
 *
 *	case 1: the faulting page has an anon in the entry's amap.
 *	  1A: map the anon's page (read-only if the anon is shared by
 *	      copy-on-write, i.e. an_ref > 1);
 *	  1B: a write to an anon with an_ref > 1: copy-on-write: promote
 *	      the data to a new anon and page that replace the old anon in
 *	      the amap.
 *	case 2: no anon: zero fill: a new anon with a zeroed page is added
 *	      to the amap (there is no uvm_object layer below the amap).
 *
 * An entry that needs a copy gets its amap copied (or created) by
 * amap_copy() before either case, on read faults too: with no object
 * below it, there is nothing to map read-only instead.
 *
 * The MMU (emu/pmap*.cc) calls uvm_fault() through the hook registered
 * by uvm_fault_init(), for every access its own state cannot satisfy.
 *
 * locking: the map lock (a kmutex here, a read lock in the kernel) is
 * held while the entry is used, then the amap, then the anon; they are
 * all dropped before anything sleeps (uvm_wait) and the fault restarts
 * from the lookup ("ReFault").
 */

#include "opt_uvmhist.h"

#include <sys/param.h>
#include <sys/systm.h>

#include <uvm/uvm.h>

/*
 * fault_flag values (the kernel's uvm_fault.h): uvm_fault_wire's
 * faults wire the page, and check the access against the entry's
 * maximum protection (UVM_FAULT_WIREMAX, as uvm_map_pageable asks).
 */

#define UVM_FAULT_WIRE		(1 << 0)
#define UVM_FAULT_WIREMAX	(1 << 1)

/*
 * uvm_faultinfo: what the fault routines know about the fault.
 *
 * orig_map and orig_rvaddr are the map and the (page-aligned) address
 * of the fault; map and entry are the result of the lookup (the
 * kernel's may be a submap; there are none here).
 */

struct uvm_faultinfo {
	struct vm_map *orig_map;	/* IN: original map */
	vaddr_t orig_rvaddr;		/* IN: original rounded VA */
	struct vm_map *map;		/* map (could be a submap) */
	struct vm_map_entry *entry;	/* map entry (from 'map') */
};

/*
 * uvmfault_lookup: lookup a virtual address in a map
 *
 * => the map is locked on success ("true"), unlocked on failure.
 * => the fault is refused (false) for a map with no pmap: there is
 *    nowhere to enter a page.
 */

static bool
uvmfault_lookup(struct uvm_faultinfo *ufi)
{
	struct vm_map *map = ufi->orig_map;

	if (map == kernel_map || map->impl == NULL || map->pmap == NULL)
		return false;
	mutex_enter(&map->lock);
	if (!uvm_map_lookup_entry(map, ufi->orig_rvaddr, &ufi->entry)) {
		mutex_exit(&map->lock);
		return false;
	}
	ufi->map = map;
	return true;
}

/*
 * uvmfault_unlockmaps: unlock the maps
 */

static inline void
uvmfault_unlockmaps(struct uvm_faultinfo *ufi)
{

	mutex_exit(&ufi->map->lock);
}

/*
 * uvmfault_unlockall: unlock everything passed in.
 *
 * => maps must be read-locked (not write-locked).
 * => ufi may be NULL (uvm_anon_pagein has no maps locked).
 */

static void
uvmfault_unlockall(struct uvm_faultinfo *ufi, struct vm_amap *amap,
    struct vm_anon *anon)
{

	if (anon)
		mutex_exit(&anon->an_lock);
	if (amap)
		amap_unlock(amap);
	if (ufi)
		uvmfault_unlockmaps(ufi);
}

/*
 * uvmfault_anonget: make the anon's data resident in an unbusy page of
 * the anon.
 *
 * => the caller holds the anon, and the maps and the amap if any.
 * => 0: the page is resident and unbusy, and every lock is still held;
 *    a page read back from swap is on the active queue.
 * => ERESTART or ENOMEM: every lock was released.
 * => loans do not exist on this machine.
 *
 * the kernel reads the page with asynchronous I/O and relocks the maps
 * afterwards (ERESTART if they changed meanwhile); the swap device here
 * is memory, read synchronously with everything held.  as in the
 * kernel, a page read back from swap keeps its swap slot and stays
 * PG_CLEAN: the slot holds a valid copy until the page is modified
 * (the page daemon then drops the slot; see uvmpd_scan_inactive) or
 * wired (uvm_fault drops it) or the anon is freed.
 */

int
uvmfault_anonget(struct uvm_faultinfo *ufi, struct vm_amap *amap,
    struct vm_anon *anon)
{
	struct vm_page *pg;
	UVMHIST_FUNC("uvmfault_anonget"); UVMHIST_CALLED(maphist);

	KASSERT(mutex_owned(&anon->an_lock));
	KASSERT(amap == NULL || mutex_owned(&amap->am_l));

	pg = anon->an_page;

	/*
	 * resident: usable unless someone has it busy.
	 */

	if (pg != NULL) {
		KASSERT(pg->uanon == anon && pg->loan_count == 0);
		if ((pg->flags & PG_BUSY) == 0) {
			UVMHIST_LOG(maphist, "<- OK",0,0,0,0);
			return 0;
		}

		/*
		 * busy: sleep until the owner unbusies it (the anon lock
		 * is the interlock), then the caller starts over.
		 */

		pg->flags |= PG_WANTED;
		uvmexp.fltpgwait++;
		uvmfault_unlockall(ufi, amap, NULL);
		UVMHIST_LOG(maphist, " waiting on busy page %p", pg, 0,0,0);
		UVM_UNLOCK_AND_WAIT(pg, &anon->an_lock, false, "anonget2", 0);
		return ERESTART;
	}

	/*
	 * not resident: read it back from its swap slot.
	 */

	KASSERT(anon->an_swslot != 0);
	pg = uvm_pagealloc(NULL, 0, anon, 0);
	if (pg == NULL) {
		uvmfault_unlockall(ufi, amap, anon);
		uvmexp.fltnoram++;
		UVMHIST_LOG(maphist, "  noram -- UVM_WAIT",0,0,0,0);
		if (!uvm_reclaimable())
			return ENOMEM;
		uvm_wait("flt_noram1");
		return ERESTART;
	}

	/*
	 * read the page from its swap slot.  the page now holds the same
	 * bytes as the slot: clean, with no modification noted (the frame
	 * may carry a modified bit from its previous life).
	 */

	uvmexp.nswget++;
	uvm_swap_get(anon->an_swslot, uvm_pagedata(pg));
	uvmexp.pgswapin++;
	KASSERT(uvmexp.swpgonly > 0);
	uvmexp.swpgonly--;		/* no longer only in swap */
	pmap_clear_modify(pg);

	/*
	 * the data is valid now: queue the page and release it.
	 */

	mutex_enter(&uvm_pageqlock);
	uvm_pageactivate(pg);
	mutex_exit(&uvm_pageqlock);
	pg->flags &= ~(PG_WANTED|PG_BUSY|PG_FAKE);
	UVM_PAGE_OWN(pg, NULL);
	UVMHIST_LOG(maphist, "<- paged in anon %p from slot %d", anon,
	    anon->an_swslot, 0, 0);
	return 0;
}

/*
 * uvmfault_amapcopy: clear "needs_copy" in a map.
 *
 * => called with no locks held; returns with none held.
 * => if we are out of RAM we sleep (via uvm_wait) and try again; if
 *    waiting cannot help, ENOMEM.
 * => the entry may be clipped (amap_copy chunks a large entry) or
 *    merged with a neighbour (uvm_mapent_trymerge): the caller looks
 *    it up again.
 */

static int
uvmfault_amapcopy(struct uvm_faultinfo *ufi)
{
	UVMHIST_FUNC("uvmfault_amapcopy"); UVMHIST_CALLED(maphist);

	for (;;) {

		/*
		 * no mapping?  give up (the refault fails).
		 */

		if (uvmfault_lookup(ufi) == false)
			return 0;

		/*
		 * copy if needed.
		 */

		if (UVM_ET_ISNEEDSCOPY(ufi->entry))
			amap_copy(ufi->map, ufi->entry, AMAP_COPY_NOWAIT,
			    ufi->orig_rvaddr, ufi->orig_rvaddr + 1);

		/*
		 * didn't work?  must be out of RAM.   unlock and sleep.
		 */

		if (UVM_ET_ISNEEDSCOPY(ufi->entry)) {
			uvmfault_unlockmaps(ufi);
			if (!uvm_reclaimable()) {
				UVMHIST_LOG(maphist, "<- out of memory",
				    0, 0, 0, 0);
				return ENOMEM;
			}
			uvm_wait("fltamapcopy");
			continue;
		}

		/*
		 * got it!   unlock and return.
		 */

		UVMHIST_LOG(maphist, "<- entry %p [%#lx, %#lx) amap %p",
		    ufi->entry, ufi->entry->start, ufi->entry->end,
		    ufi->entry->aref.ar_amap);
		uvmfault_unlockmaps(ufi);
		return 0;
	}
	/*NOTREACHED*/
}

/*
 * uvmfault_promote: promote data to a new anon.  used for 1B and 2 cases.
 *
 *	1. allocate an anon and a page.
 *	2. fill its contents: a copy of oanon's page, or zeros.
 *	3. put the anon in the amap at the fault address, replacing oanon
 *	   (if any).
 *
 * => if we fail (result != 0) we unlock everything.
 * => on success, return a new locked anon via 'nanon'; its page is busy.
 * => if we run out of memory, the anon we got is saved in *spare for the
 *    next try, and we return ERESTART after waiting for memory (or
 *    ENOMEM if waiting cannot help).
 */

static int
uvmfault_promote(struct uvm_faultinfo *ufi, struct vm_amap *amap,
    struct vm_anon *oanon, struct vm_anon **nanon, struct vm_anon **spare)
{
	struct vm_anon *anon;
	struct vm_page *pg, *opg;
	int error;
	UVMHIST_FUNC("uvmfault_promote"); UVMHIST_CALLED(maphist);

	KASSERT(mutex_owned(&amap->am_l));
	KASSERT(oanon == NULL || mutex_owned(&oanon->an_lock));

	opg = oanon ? oanon->an_page : NULL;
	KASSERT(oanon == NULL || opg != NULL);

	if (*spare != NULL) {
		anon = *spare;
		*spare = NULL;
		mutex_enter(&anon->an_lock);
	} else {
		anon = uvm_analloc();
	}
	if (anon) {

		/*
		 * the new anon is locked.
		 *
		 * if opg == NULL, we want a zero'd, dirty page,
		 * so have uvm_pagealloc() do that for us.
		 */

		pg = uvm_pagealloc(NULL, 0, anon,
		    (opg == NULL) ? UVM_PGA_ZERO : 0);
	} else {
		pg = NULL;
	}

	/*
	 * out of memory resources?
	 */

	if (pg == NULL) {
		/* save anon for the next try. */
		if (anon != NULL) {
			mutex_exit(&anon->an_lock);
			*spare = anon;
		}

		/* unlock and fail ... */
		uvmfault_unlockall(ufi, amap, oanon);
		if (!uvm_reclaimable()) {
			UVMHIST_LOG(maphist, "out of VM", 0,0,0,0);
			error = ENOMEM;
			goto done;
		}

		UVMHIST_LOG(maphist, "out of RAM, waiting for more", 0,0,0,0);
		uvm_wait("flt_noram5");
		error = ERESTART;
		goto done;
	}

	/* copy page [pg now dirty] */
	if (opg) {
		uvm_pagecopy(opg, pg);
	}

	amap_add(&ufi->entry->aref, ufi->orig_rvaddr - ufi->entry->start,
	    anon, oanon != NULL);

	*nanon = anon;
	error = 0;
	UVMHIST_LOG(maphist, "  promoted: oanon=%p opg=%p -> anon=%p pg=%p",
	    oanon, opg, anon, pg);
 done:
	return error;
}

/*
 * wiring of anonymous pages
 *
 * a wired entry holds one wiring on the page of each anon in its range:
 * its wiring faults (uvm_fault_wire, from uvm_map_pageable) take them,
 * unwiring (uvm_fault_unwire) drops them, and amap_cow_now relies on
 * them when the process forks.  the kernel wires pages on wiring faults
 * only; but an anon in a wired entry can be replaced later, by a
 * copy-on-write fault on it.  (a wiring fault breaks copy-on-write
 * sharing when the entry may be written, so this needs an anon that was
 * shared with another amap later: an amap shared by MAP_INHERIT_SHARE
 * whose anons were copy-on-write shared by a fork of one of its
 * sharers.)  so here:
 *	- a copy-on-write fault moves the wirings of the old anon's page to
 *	  the copy: all of them if the amap is shared (the copy replaces
 *	  the anon for all the sharers, whose wired entries hold them), or
 *	  the faulting entry's own if it is wired.  the kernel leaves them
 *	  on the old page (cf. "XXX: suppose page is supposed to be wired
 *	  somewhere?" in amap_add), which then stays wired for good, while
 *	  the wired entries map an unwired page.
 *	- a fault that is not a wiring fault wires the page it maps in a
 *	  wired entry if the page is not wired at all.
 */

/*
 * uvmfault_cow_movewire: move the wirings of oanon's page (opg) to the
 * copy (pg) that replaces it in the amap, as above.
 *
 * => amap, oanon and the new anon locked; page queues unlocked.
 */

static void
uvmfault_cow_movewire(struct vm_map_entry *entry, struct vm_amap *amap,
    struct vm_page *opg, struct vm_page *pg, bool wire_fault)
{
	const bool shared = (amap->am_flags & AMAP_SHARED) != 0;

	KASSERT(mutex_owned(&amap->am_l));

	/*
	 * a wiring fault is taking the entry's wiring (on the copy): the
	 * entry holds none on the old page yet.
	 */

	if (opg->wire_count == 0 ||
	    (!shared && (!VM_MAPENT_ISWIRED(entry) || wire_fault)))
		return;
	mutex_enter(&uvm_pageqlock);
	do {
		uvm_pageunwire(opg);
		uvm_pagewire(pg);
	} while (shared && opg->wire_count > 0);
	mutex_exit(&uvm_pageqlock);
}

/*
 * uvm_fault_internal: the page fault handler
 *
 * => called from the MMU's fault hook (uvm_fault) and uvm_fault_wire.
 * => access_type is the access that faulted (VM_PROT_READ and/or
 *    VM_PROT_WRITE); for a wiring fault, the access to check the
 *    entry's (maximum) protection for.
 * => no locks may be held by the caller.
 * => returns 0 (the page is entered in the pmap), EFAULT (no entry, or
 *    one with nothing to map), EACCES (the entry's protection refuses
 *    the access) or ENOMEM (out of memory, and waiting cannot help).
 */

static int
uvm_fault_internal(struct vm_map *orig_map, vaddr_t vaddr,
    vm_prot_t access_type, int fault_flag)
{
	struct uvm_faultinfo ufi;
	vm_prot_t check_prot, enter_prot;
	bool wired, cow_now, wire_fault;
	struct vm_amap *amap;
	struct vm_anon *anon, *oanon, *anon_spare;
	struct vm_page *pg;
	int error;
	UVMHIST_FUNC("uvm_fault"); UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist, "(map=%p, vaddr=%#lx, at=%d, ff=%d)",
	      orig_map, vaddr, access_type, fault_flag);

	anon_spare = NULL;

	/*
	 * init the IN parameters in the ufi
	 */

	ufi.orig_map = orig_map;
	ufi.orig_rvaddr = trunc_page(vaddr);
	wire_fault = (fault_flag & UVM_FAULT_WIRE) != 0;

	/*
	 * "goto ReFault" means restart the page fault from ground zero.
	 */
 ReFault:

	/*
	 * lookup and lock the maps
	 */

	if (uvmfault_lookup(&ufi) == false) {
		UVMHIST_LOG(maphist, "<- no mapping @ %#lx", vaddr, 0,0,0);
		error = EFAULT;
		goto done;
	}
	/* locked: maps(read) */

	/* there are no uvm_objects or submaps on this machine */
	KASSERT((ufi.entry->etype & (UVM_ET_OBJ | UVM_ET_SUBMAP)) == 0);

	/*
	 * check protection
	 */

	check_prot = (fault_flag & UVM_FAULT_WIREMAX) ?
	    ufi.entry->max_protection : ufi.entry->protection;
	if ((check_prot & access_type) != access_type) {
		UVMHIST_LOG(maphist,
		    "<- protection failure (prot=%#x, access=%#x)",
		    ufi.entry->protection, access_type, 0, 0);
		uvmfault_unlockmaps(&ufi);
		error = EACCES;
		goto done;
	}

	/*
	 * "enter_prot" is the protection we want to enter the page in at.
	 * for certain pages (e.g. copy-on-write pages) this protection can
	 * be more strict than ufi.entry->protection.  "wired" means either
	 * the entry is wired or we are fault-wiring the pg.
	 */

	enter_prot = ufi.entry->protection;
	wired = VM_MAPENT_ISWIRED(ufi.entry) || wire_fault;
	if (wired) {
		access_type = enter_prot; /* full access for wired */
		cow_now = (check_prot & VM_PROT_WRITE) != 0;
	} else {
		cow_now = (access_type & VM_PROT_WRITE) != 0;
	}

	/*
	 * handle "needs_copy" case.  there is no object below the amap, so
	 * a needs-copy entry gets its own amap on any fault (the kernel
	 * maps the object's page read-only instead when there is one and
	 * the access is a read).  amap_copy may clip or merge the entry:
	 * refault, which looks it up again.
	 */

	if (UVM_ET_ISNEEDSCOPY(ufi.entry)) {
		UVMHIST_LOG(maphist,
		    "  need to clear needs_copy and refault",0,0,0,0);
		uvmfault_unlockmaps(&ufi);
		error = uvmfault_amapcopy(&ufi);
		if (error)
			goto done;
		goto ReFault;
	}

	/*
	 * identify the players
	 */

	amap = ufi.entry->aref.ar_amap;		/* upper layer */

	/*
	 * check for a case 0 fault.  if nothing backing the entry then
	 * error now.
	 */

	if (amap == NULL) {
		uvmfault_unlockmaps(&ufi);
		UVMHIST_LOG(maphist,"<- no backing store, no overlay",0,0,0,0);
		error = EFAULT;
		goto done;
	}

	/*
	 * lock the amap and look up the anon at the fault address.
	 */

	amap_lock(amap);
	anon = amap_lookup(&ufi.entry->aref,
	    ufi.orig_rvaddr - ufi.entry->start);
	UVMHIST_LOG(maphist, "  entry=%p amap=%p anon=%p", ufi.entry, amap,
	    anon, 0);

	/* locked: maps(read), amap */
	if (anon == NULL)
		goto Case2;

	/*
	 * handle case 1: fault on an anon in our amap
	 */

	UVMHIST_LOG(maphist, "  case 1 fault: anon=%p", anon, 0,0,0);
	mutex_enter(&anon->an_lock);

	/* locked: maps(read), amap, anon */

	/*
	 * no matter if we have case 1A or case 1B we are going to need to
	 * have the anon's memory resident.   ensure that now.
	 */

	/*
	 * let uvmfault_anonget do the dirty work.
	 * if it fails (!OK) it will unlock everything for us.
	 * if it succeeds, locks are still valid and locked.
	 * also, if it is OK, then the anon's page is on the queues.
	 */

	uvmexp.fltanget++;
	error = uvmfault_anonget(&ufi, amap, anon);
	switch (error) {
	case 0:
		break;

	case ERESTART:
		goto ReFault;

	default:
		UVMHIST_LOG(maphist, "<- out of RAM for page-in", 0,0,0,0);
		goto done;
	}
	KASSERT(anon->an_page->uanon == anon);
	KASSERT((anon->an_page->flags & (PG_BUSY|PG_RELEASED)) == 0);

	/*
	 * if we are case 1B then we will need to allocate a new blank
	 * anon to transfer the data into.   note that we have a lock
	 * on anon, so no one can busy or release the page until we are done.
	 * also note that the ref count can't drop to zero here because
	 * it is > 1 and we are only dropping one ref.
	 *
	 * this is done whatever the amap: an anon with more than one
	 * reference is shared by copy-on-write with another amap, and a
	 * write through a shared amap (MAP_INHERIT_SHARE) must not be seen
	 * through that other amap either.  (amap_add replaces the anon in
	 * a shared amap for all its sharers: it removes every mapping of
	 * the old page.)
	 *
	 * in the (hopefully very rare) case that we are out of RAM we
	 * will unlock, wait for more RAM, and refault.
	 */

	if (cow_now && anon->an_ref > 1) {

		UVMHIST_LOG(maphist, "  case 1B: COW fault",0,0,0,0);
		uvmexp.cowfaults++;
		oanon = anon;		/* oanon = old, locked anon */

		error = uvmfault_promote(&ufi, amap, oanon, &anon,
		    &anon_spare);
		switch (error) {
		case 0:
			break;
		case ERESTART:
			goto ReFault;
		default:
			goto done;
		}

		pg = anon->an_page;
		uvmfault_cow_movewire(ufi.entry, amap, oanon->an_page, pg,
		    wire_fault);
		mutex_enter(&uvm_pageqlock);
		uvm_pageactivate(pg);
		mutex_exit(&uvm_pageqlock);
		pg->flags &= ~(PG_BUSY|PG_FAKE);
		UVM_PAGE_OWN(pg, NULL);

		/* deref: can not drop to zero here by defn! */
		oanon->an_ref--;

		/*
		 * note: oanon is still locked, as is the new anon.  we
		 * need to check for this later when we unlock oanon; if
		 * oanon != anon, we'll have to unlock anon, too.
		 */

	} else {

		oanon = anon;	/* old, locked anon is same as anon */
		pg = anon->an_page;
		if (anon->an_ref > 1)     /* disallow writes to ref > 1 anons */
			enter_prot = enter_prot & ~VM_PROT_WRITE;

	}

	/* locked: maps(read), amap, oanon, anon (if different from oanon) */
	KASSERT(mutex_owned(&anon->an_lock));
	KASSERT(mutex_owned(&oanon->an_lock));

	/*
	 * now map the page in.
	 */

	UVMHIST_LOG(maphist, "  MAPPING: anon: pm=%p, va=%#lx, pg=%p, "
	    "prot=%#x", ufi.orig_map->pmap, ufi.orig_rvaddr, pg, enter_prot);
	if (pmap_enter(ufi.orig_map->pmap, ufi.orig_rvaddr,
	    VM_PAGE_TO_PHYS(pg), enter_prot,
	    access_type | PMAP_CANFAIL | (wired ? PMAP_WIRED : 0)) != 0) {

		/*
		 * No need to undo what we did; we can simply think of
		 * this as the pmap throwing away the mapping information.
		 *
		 * We do, however, have to go through the ReFault path,
		 * as the map may change while we're asleep.
		 */

		if (anon != oanon)
			mutex_exit(&anon->an_lock);
		uvmfault_unlockall(&ufi, amap, oanon);
		if (!uvm_reclaimable()) {
			UVMHIST_LOG(maphist,
			    "<- failed.  out of VM",0,0,0,0);
			error = ENOMEM;
			goto done;
		}
		uvm_wait("flt_pmfail1");
		goto ReFault;
	}

	/*
	 * ... update the page queues.
	 */

	mutex_enter(&uvm_pageqlock);
	if (wire_fault ||
	    (VM_MAPENT_ISWIRED(ufi.entry) && pg->wire_count == 0)) {
		uvm_pagewire(pg);

		/*
		 * since the now-wired page cannot be paged out,
		 * release its swap resources for others to use.
		 * since an anon with no swap cannot be PG_CLEAN,
		 * clear its clean flag now.
		 */

		pg->flags &= ~(PG_CLEAN);
		uvm_anon_dropswap(anon);
	} else {
		uvm_pageactivate(pg);	/* a wired page stays off queues */
	}
	mutex_exit(&uvm_pageqlock);

	/*
	 * done case 1!  finish up by unlocking everything and returning success
	 */

	if (anon != oanon)
		mutex_exit(&anon->an_lock);
	uvmfault_unlockall(&ufi, amap, oanon);
	pmap_update(ufi.orig_map->pmap);
	error = 0;
	goto done;

 Case2:

	/*
	 * handle case 2: zero fill.  there is no object below the amap:
	 * the data is promoted to a new anon with a zeroed page, which is
	 * added to the amap.
	 */

	/* locked: maps(read), amap */
	UVMHIST_LOG(maphist, "  case 2 fault: zero fill",0,0,0,0);
	KASSERT(!UVM_ET_ISNEEDSCOPY(ufi.entry));

	error = uvmfault_promote(&ufi, amap, NULL, &anon, &anon_spare);
	switch (error) {
	case 0:
		break;
	case ERESTART:
		goto ReFault;
	default:
		goto done;
	}
	pg = anon->an_page;

	/* locked: maps(read), amap, anon; pg is busy */
	KASSERT(mutex_owned(&anon->an_lock));

	UVMHIST_LOG(maphist,
	    "  MAPPING: case2: pm=%p, va=%#lx, pg=%p, prot=%#x",
	    ufi.orig_map->pmap, ufi.orig_rvaddr, pg, enter_prot);
	if (pmap_enter(ufi.orig_map->pmap, ufi.orig_rvaddr,
	    VM_PAGE_TO_PHYS(pg), enter_prot,
	    access_type | PMAP_CANFAIL | (wired ? PMAP_WIRED : 0)) != 0) {

		/*
		 * No need to undo what we did; we can simply think of
		 * this as the pmap throwing away the mapping information.
		 * the new anon stays in the amap, and the refault maps it.
		 *
		 * the page goes on a paging queue before it is unbusied
		 * (an anon's page that is neither wired nor queued may
		 * not be unowned).
		 */

		mutex_enter(&uvm_pageqlock);
		uvm_pageactivate(pg);
		mutex_exit(&uvm_pageqlock);
		pg->flags &= ~(PG_BUSY|PG_FAKE|PG_WANTED);
		UVM_PAGE_OWN(pg, NULL);
		uvmfault_unlockall(&ufi, amap, anon);
		if (!uvm_reclaimable()) {
			UVMHIST_LOG(maphist,
			    "<- failed.  out of VM",0,0,0,0);
			error = ENOMEM;
			goto done;
		}
		uvm_wait("flt_pmfail2");
		goto ReFault;
	}

	mutex_enter(&uvm_pageqlock);
	if (wire_fault || VM_MAPENT_ISWIRED(ufi.entry)) {
		uvm_pagewire(pg);
	} else {
		uvm_pageactivate(pg);
	}
	mutex_exit(&uvm_pageqlock);

	/*
	 * nobody can have waited for the page: it was busy only while we
	 * held the amap locked.
	 */

	KASSERT((pg->flags & PG_WANTED) == 0);
	pg->flags &= ~(PG_BUSY|PG_FAKE|PG_WANTED);
	UVM_PAGE_OWN(pg, NULL);
	uvmfault_unlockall(&ufi, amap, anon);
	pmap_update(ufi.orig_map->pmap);

	UVMHIST_LOG(maphist, "<- done (SUCCESS!)",0,0,0,0);
	error = 0;

 done:
	if (anon_spare != NULL) {
		anon_spare->an_ref--;
		uvm_anfree(anon_spare);
	}
	return error;
}

/*
 * uvm_fault: resolve a fault at va in map for access_type.
 */

int
uvm_fault(struct vm_map *map, vaddr_t vaddr, vm_prot_t access_type)
{

	return uvm_fault_internal(map, vaddr, access_type, 0);
}

/*
 * uvm_fault_hook: the MMU's fault hook.  the pmap's owner is the
 * vmspace whose map the fault is resolved in (uvmspace_alloc).
 */

static int
uvm_fault_hook(struct pmap *pmap, vaddr_t va, vm_prot_t access_type)
{
	struct vmspace *vm;

	vm = (struct vmspace *)pmap_owner(pmap);
	if (vm == NULL)
		return EFAULT;
	return uvm_fault(&vm->vm_map, trunc_page(va), access_type);
}

/*
 * uvm_fault_init: compile-time and boot-time fault initialization:
 * register uvm_fault with the MMU.
 */

void
uvm_fault_init(void)
{

	pmap_set_fault_hook(uvm_fault_hook);
}

/*
 * uvm_fault_wire: wire down a range of virtual addresses in a map.
 *
 * => map may be read-locked by caller, but MUST NOT be write-locked.
 *    (here: the map must be unlocked; each fault locks it.)
 * => if map is read-locked, any operations which may cause map to
 *	be write-locked in uvm_fault() must be taken care of by
 *	the caller.  See uvm_map_pageable().
 * => access_type is checked against the entries' maximum protection,
 *    as the kernel's uvm_fault_wire(..., maxprot = 1) that
 *    uvm_map_pageable uses does: a writable maximum breaks
 *    copy-on-write sharing at once.  the pages are entered with the
 *    entries' current protection.
 */

int
uvm_fault_wire(struct vm_map *map, vaddr_t start, vaddr_t end,
    vm_prot_t access_type)
{
	vaddr_t va;
	int error;

	/*
	 * now fault it in a page at a time.   if the fault fails then we
	 * have to undo what we have done.
	 */

	/*
	 * XXX work around overflowing a vaddr_t.  this prevents us from
	 * wiring the last page in the address space, though.
	 */
	if (start > end) {
		return EFAULT;
	}

	for (va = start ; va < end ; va += PAGE_SIZE) {
		error = uvm_fault_internal(map, va, access_type,
		    UVM_FAULT_WIREMAX | UVM_FAULT_WIRE);
		if (error) {
			if (va != start) {
				uvm_fault_unwire(map, start, va);
			}
			return error;
		}
	}
	return 0;
}

/*
 * uvm_fault_unwire(): unwire range of virtual space.
 */

void
uvm_fault_unwire(struct vm_map *map, vaddr_t start, vaddr_t end)
{

	mutex_enter(&map->lock);
	uvm_fault_unwire_locked(map, start, end);
	mutex_exit(&map->lock);
}

/*
 * uvm_fault_unwire_locked(): the guts of uvm_fault_unwire().
 *
 * => map must be at least read-locked.
 * => we assume that the area we are unwiring has actually been wired
 *    in the first place.
 * => the page unwired at each address is the page of the anon there:
 *    the one its wiring fault wired, or the one a later fault moved the
 *    wiring to (see "wiring of anonymous pages").  the kernel finds the
 *    page with pmap_extract(), which misses a wired page whose mapping
 *    was removed meanwhile (by pmap_protect(VM_PROT_NONE), or by a
 *    sharer's pmap_page_protect()), leaving it wired for good; every
 *    page here belongs to an anon, so we look in the amap instead, and
 *    tell the pmap about the mappings that are there.
 * => addresses in no entry (or with no page) are skipped.
 */

void
uvm_fault_unwire_locked(struct vm_map *map, vaddr_t start, vaddr_t end)
{
	struct vm_map_entry *entry;
	struct pmap *pmap = map->pmap;
	struct vm_amap *amap;
	struct vm_anon *anon;
	vaddr_t va;
	paddr_t pa;
	struct vm_page *pg;

	KASSERT(mutex_owned(&map->lock));
	KASSERT(pmap != NULL);
	KASSERT(start >= map->min_offset && end <= map->max_offset);

	for (va = start; va < end; va += PAGE_SIZE) {

		/*
		 * find the map entry for the current address.
		 */

		if (uvm_map_lookup_entry(map, va, &entry) == false)
			continue;

		/*
		 * if the entry is no longer wired, tell the pmap.
		 */

		if (VM_MAPENT_ISWIRED(entry) == 0 &&
		    pmap_extract(pmap, va, &pa))
			pmap_unwire(pmap, va);

		/*
		 * unwire the anon's page.
		 */

		amap = entry->aref.ar_amap;
		if (amap == NULL)
			continue;
		amap_lock(amap);
		anon = amap_lookup(&entry->aref, va - entry->start);
		if (anon != NULL) {
			mutex_enter(&anon->an_lock);
			pg = anon->an_page;
			if (pg != NULL && pg->wire_count > 0) {
				mutex_enter(&uvm_pageqlock);
				uvm_pageunwire(pg);
				mutex_exit(&uvm_pageqlock);
			}
			mutex_exit(&anon->an_lock);
		}
		amap_unlock(amap);
	}
}
