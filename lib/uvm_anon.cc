/*
 * uvm_anon.cc: uvm anon ops
 *
 * The anon life cycle of NetBSD's uvm_anon.c of the 5.0 era (the
 * revision that goes with uvm_amap.c 1.87: a per-anon an_lock, anons
 * from a pool cache), for this machine: no uvm_objects, so no loaned
 * pages, and a single LWP, so nobody else can hold a page busy (see
 * uvm_anfree).
 */

#include "opt_uvmhist.h"

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/pool.h>

#include <uvm/uvm.h>

static struct pool_cache uvm_anon_cache;
static long uvm_anon_nout;	/* anons allocated and not yet freed */

/*
 * uvm_anon_init: initialize anon pool cache.
 *
 * => the kernel is booted fresh for each test, so this runs many times;
 *    pool_cache_bootstrap() takes a re-initialisation of an idle cache.
 */

void
uvm_anon_init(void)
{

	/*
	 * anons leaked by a previous boot are reported by the kernel's
	 * leak check; they are not ours to count any more.
	 */
	uvm_anon_nout = 0;
	pool_cache_bootstrap(&uvm_anon_cache, sizeof(struct vm_anon), 0, 0,
	    0, "anonpl", NULL, IPL_NONE, NULL, NULL, NULL);
}

/*
 * uvm_analloc: allocate a new anon.
 *
 * => new anon is returned locked!
 * => PR_NOWAIT: a failure point; NULL if no anon could be allocated.
 */

struct vm_anon *
uvm_analloc(void)
{
	struct vm_anon *anon;

	anon = pool_cache_get(&uvm_anon_cache, PR_NOWAIT);
	if (anon) {
		/*
		 * the pool hands out raw (poisoned) memory: construct the
		 * anon here rather than in a pool constructor.
		 */
		mutex_init(&anon->an_lock, MUTEX_DEFAULT, IPL_NONE);
		anon->an_page = NULL;
		anon->an_swslot = 0;
		anon->an_ref = 1;
		uvm_anon_nout++;
		mutex_enter(&anon->an_lock);
	}
	return anon;
}

/*
 * uvm_anfree: free a single anon structure
 *
 * => caller must remove anon from its amap before calling (if it was in
 *	an amap).
 * => anon must be unlocked and have a zero reference count.
 * => we may lock the pageq's.
 */

void
uvm_anfree(struct vm_anon *anon)
{
	struct vm_page *pg;
	UVMHIST_FUNC("uvm_anfree"); UVMHIST_CALLED(maphist);
	UVMHIST_LOG(maphist,"(anon=%p)", anon, 0,0,0);

	KASSERT(anon->an_ref == 0);
	KASSERT(!mutex_owned(&anon->an_lock));

	/*
	 * get page.  the page daemon finds anons through their pages, not
	 * through references: it may hold the lock now, and it may page
	 * the page out (and free it) until we hold the lock ourselves.  so
	 * lock first and keep the lock until page and swap are gone.
	 */

	mutex_enter(&anon->an_lock);
	pg = anon->an_page;

	/*
	 * if we have a resident page, we must dispose of it before freeing
	 * the anon.
	 */

	if (pg) {

		/*
		 * there are no uvm_objects and no loans on this machine:
		 * the page is ours.
		 */

		KASSERT(pg->uobject == NULL && pg->loan_count == 0);
		KASSERT(pg->uanon == anon);
		KASSERT((pg->flags & PG_RELEASED) == 0);

		/*
		 * the kernel marks a busy page PG_RELEASED here and leaves
		 * it (and the anon) to be freed by the page's owner when it
		 * unbusies the page (uvm_anon_release).  on a single-LWP
		 * machine nothing can hold an anon's page busy across the
		 * drop of its last reference, so a busy page here is a bug;
		 * the scheduler issue (issue 4) adds the PG_RELEASED path.
		 */

		if (pg->flags & PG_BUSY) {
			panic("uvm_anfree: anon %p: page %p is busy (owner "
			    "lwp %d [%s]); deferred release is not "
			    "implemented", anon, pg, pg->owner_lid,
			    pg->owner_tag ? pg->owner_tag : "?");
		}
		pmap_page_protect(pg, VM_PROT_NONE);
		mutex_enter(&uvm_pageqlock);
		uvm_pagefree(pg);
		mutex_exit(&uvm_pageqlock);
		UVMHIST_LOG(maphist, "anon %p, page %p: "
		    "freed now!", anon, pg, 0, 0);
	}

	if (pg == NULL && anon->an_swslot > 0) {
		/* its data was only in swap: not any more */
		KASSERT(uvmexp.swpgonly > 0);
		uvmexp.swpgonly--;
	}

	/*
	 * free any swap resources.
	 */

	uvm_anon_dropswap(anon);
	KASSERT(anon->an_page == NULL);
	KASSERT(anon->an_swslot == 0);
	mutex_exit(&anon->an_lock);

	/*
	 * now that we've stripped the data areas from the anon,
	 * free the anon itself.  nobody can find it any more: its page
	 * is gone from the page queues.
	 */

	mutex_destroy(&anon->an_lock);
	KASSERT(uvm_anon_nout > 0);
	uvm_anon_nout--;
	pool_cache_put(&uvm_anon_cache, anon);
	UVMHIST_LOG(maphist,"<- done!",0,0,0,0);
}

/*
 * uvm_anon_dropswap:  release any swap resources from this anon.
 *
 * => anon must be locked or have a reference count of 0.
 */

void
uvm_anon_dropswap(struct vm_anon *anon)
{
	UVMHIST_FUNC("uvm_anon_dropswap"); UVMHIST_CALLED(maphist);

	KASSERT(anon->an_ref == 0 || mutex_owned(&anon->an_lock));
	if (anon->an_swslot == 0)
		return;

	UVMHIST_LOG(maphist,"freeing swap for anon %p, paged to swslot 0x%x",
	    anon, anon->an_swslot, 0, 0);
	uvm_swap_free(anon->an_swslot, 1);
	anon->an_swslot = 0;
}

/*
 * uvm_anon_pagein: fetch an anon's page.
 *
 * => anon must be locked, and is unlocked upon return.
 * => returns true if pagein was aborted due to lack of memory.
 * => a false return does not mean the page is in: if we had to wait for
 *    memory (uvm_wait, which runs the page daemon), we return false with
 *    the anon unchanged and the caller (amap_swap_off) looks again.
 */

bool
uvm_anon_pagein(struct vm_anon *anon)
{
	struct vm_page *pg;
	int error;
	UVMHIST_FUNC("uvm_anon_pagein"); UVMHIST_CALLED(maphist);

	/* locked: anon */
	KASSERT(mutex_owned(&anon->an_lock));
	KASSERT(anon->an_page != NULL || anon->an_swslot != 0);

	error = uvmfault_anonget(NULL, NULL, anon);

	switch (error) {
	case 0:
		break;

	case ERESTART:

		/*
		 * we waited for memory or for a busy page: the anon is
		 * unlocked.  the caller looks again.
		 */

		UVMHIST_LOG(maphist, "<- anon %p: restart", anon, 0, 0, 0);
		return false;

	default:
		UVMHIST_LOG(maphist, "<- no RAM for anon %p", anon, 0, 0, 0);
		return true;
	}

	/*
	 * resident (anon still locked).  the slot goes away: the page is
	 * now the only copy, so it is dirty.
	 */

	pg = anon->an_page;
	KASSERT(pg->uanon == anon && pg->uobject == NULL);
	if (anon->an_swslot > 0)
		uvm_swap_free(anon->an_swslot, 1);
	anon->an_swslot = 0;
	pg->flags &= ~(PG_CLEAN);

	/*
	 * nobody asked for this page: put it where the page daemon looks
	 * first.
	 */

	mutex_enter(&uvm_pageqlock);
	if (pg->wire_count == 0)
		uvm_pagedeactivate(pg);
	mutex_exit(&uvm_pageqlock);
	mutex_exit(&anon->an_lock);
	UVMHIST_LOG(maphist, "<- anon %p page %p", anon, pg, 0, 0);
	return false;
}

/*
 * uvm_anon_count: the number of anons in existence.
 */

long
uvm_anon_count(void)
{

	return uvm_anon_nout;
}
