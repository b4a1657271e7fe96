/*
 * uvm_page.cc: physical page management for the emulated machine.
 *
 * The page life cycle of NetBSD's uvm_page.c (the 5.0 era, which goes
 * with uvm_amap.c revision 1.87), reduced to what anonymous memory needs:
 * one free list, the active and inactive paging queues, page ownership
 * tracking (UVM_PAGE_OWN) and the counters in uvmexp.
 *
 * The frames and the vm_page array belong to the emulated machine's
 * physical arena (emu/arena.cc); this file threads the pages onto
 * Boost.Intrusive lists through pg->pageq, where the kernel uses TAILQs.
 *
 * The page daemon is uvm_pdaemon.cc.  uvm_wait() wakes it, when it
 * runs as a kernel thread (KernelConfig::pagedaemon_thread), or else does
 * its work inline; then it sleeps on the scheduler's wait channel
 * &uvmexp.free (emu/sched.cc), woken by uvm_pagefree().
 * uvm_unlock_and_wait() sleeps on the busy page, woken by its owner.
 */

#include "opt_uvmhist.h"

#include <sys/param.h>
#include <sys/proc.h>
#include <sys/systm.h>

#include <uvm/uvm.h>

#include <boost/intrusive/list.hpp>

#include "emu/arena.h"
#include "emu/inject_point.h"
#include "emu/sched_hooks.h"

/*
 * global data structures
 */

kmutex_t uvm_pageqlock;		/* lock for active/inactive page queues */
int uvm_pagedaemon_wchan;	/* the page daemon sleeps here */
struct uvmexp uvmexp;		/* system-wide counters */
unsigned int uvm_extrapages;	/* pages allocated outside the page pool */

/*
 * the page lists: pages are threaded through pg->pageq, and a page is on
 * at most one list at a time (pqflags says which).  the free list is
 * protected by uvm_fpageqlock, the paging queues by uvm_pageqlock.
 */

typedef boost::intrusive::list<struct vm_page,
    boost::intrusive::member_hook<struct vm_page,
	decltype(vm_page::pageq), &vm_page::pageq>> pglist_t;

struct uvm_pagelists {
	pglist_t	pl_free;	/* free pages [uvm_fpageqlock] */
	pglist_t	pl_active;	/* active pages [uvm_pageqlock] */
	pglist_t	pl_inactive;	/* inactive pages [uvm_pageqlock] */
};

/*
 * allocated at boot and freed at shutdown, so that no list outlives the
 * page array it threads through.
 */
static struct uvm_pagelists *uvm_pagelists;
kmutex_t uvm_fpageqlock;		/* lock for the free list */

/*
 * the free list is LIFO, as the kernel's, except that a page freed
 * right after the page physically before it goes behind that page rather
 * than in front of it: the pages at the head of the list then stay in
 * ascending physical order while a range is freed in either direction
 * (amap_wipeout frees an amap's pages in slot order), and the next
 * allocations take them in that order.  the software MMU maps
 * consecutive frames at consecutive addresses as one host mapping, and
 * a frame mapped right after its neighbour extends that mapping, which
 * costs the host about half as much as a new one (docs/mmu.md).  this
 * is the last page of that ascending run at the head of the list, or
 * NULL if the head is not such a run.  [uvm_fpageqlock]
 */
static struct vm_page *uvm_free_runtail;

/*
 * consecutive uvm_wait() calls without a successful page allocation in
 * between: a retry loop that can never succeed (an allocation that is
 * made to fail every time) is reported instead of spinning forever.
 */
#define UVM_WAIT_LIVELOCK	100000
static int uvm_wait_noprogress;

/* the value stale frames are filled with when freed */
#define UVM_PAGE_POISON	0xdf

static inline bool
uvm_page_queued_p(const struct vm_page *pg)
{

	return (pg->pqflags & (PQ_ACTIVE | PQ_INACTIVE)) != 0;
}

/*
 * uvm_page_init: boot the physical memory of the machine.
 *
 * => creates the arena of npages frames and puts every page on the free
 *    list, in ascending physical order.
 * => the kernel is booted fresh for each test, so all of uvmexp is reset
 *    here (uvm_page_init is the first UVM initialisation to run).
 */

void
uvm_page_init(size_t npages)
{
	struct vm_page *pg;
	size_t lcv;

	KASSERT(uvm_pagelists == NULL);
	memset(&uvmexp, 0, sizeof(uvmexp));
	uvm_extrapages = 0;
	uvm_wait_noprogress = 0;
	uvm_free_runtail = NULL;

	uvmemu::arena::Init(npages);
	mutex_init(&uvm_pageqlock, MUTEX_DEFAULT, IPL_NONE);
	mutex_init(&uvm_fpageqlock, MUTEX_DEFAULT, IPL_VM);
	uvmemu::sched::NameChannel(&uvmexp.free, "uvmexp.free");
	uvmemu::sched::NameChannel(&uvm_pagedaemon_wchan,
	    "uvm_pagedaemon_wchan");
	uvm_pagelists = new struct uvm_pagelists;

	for (lcv = 0; lcv < npages; lcv++) {
		pg = uvmemu::arena::Page(lcv);
		KASSERT(pg->pqflags == PQ_FREE);
		uvm_pagelists->pl_free.push_back(*pg);
	}
	uvmexp.npages = (int)npages;
	uvmexp.free = (int)npages;

	/*
	 * the page daemon's targets, from the memory size (the kernel's
	 * boot calls uvmpd_tune() later; a KernelConfig may retune).
	 */
	uvmpd_tune(0, 0);
}

/*
 * uvm_page_shutdown: tear down physical memory.
 *
 * => every page must be free: a page still in use at shutdown is a leak
 *    (and probably still referenced by a leaked anon), so we panic,
 *    saying how many.
 */

void
uvm_page_shutdown(void)
{
	int inuse;

	KASSERT(uvm_pagelists != NULL);
	inuse = uvmexp.npages - uvmexp.free;
	if (inuse != 0 || !uvm_pagelists->pl_active.empty() ||
	    !uvm_pagelists->pl_inactive.empty()) {
		panic("uvm_page_shutdown: %d of %d physical pages are not free "
		    "(%d active, %d inactive)", inuse, uvmexp.npages,
		    uvmexp.active, uvmexp.inactive);
	}
	uvm_pagelists->pl_free.clear();
	uvm_free_runtail = NULL;
	delete uvm_pagelists;
	uvm_pagelists = NULL;
	mutex_destroy(&uvm_fpageqlock);
	mutex_destroy(&uvm_pageqlock);
	uvmemu::arena::Shutdown();
	uvmexp.npages = 0;
	uvmexp.free = 0;
}

/*
 * uvm_pagealloc: allocate a vm_page from the free list.
 *
 * => a failure point: failure injection may make it return NULL, as may
 *    an empty free list (both are counted in uvmexp.pagealloc_fail).
 * => if anon != NULL, anon must be locked; the page becomes its page.
 * => returns the page busy (owned by the caller), clean and fake: its
 *    contents are stale unless UVM_PGA_ZERO was given.
 * => there are no uvm_objects on this machine: obj must be NULL.
 * => the kernel keeps a reserve for the page daemon and wakes it when
 *    free memory runs low (uvm_pageout_needed()).  the page-out needs no
 *    memory here (the swap device is memory), so there is no reserve.
 *    without a page daemon thread the page-out runs when an allocation
 *    fails and its caller calls uvm_wait().
 */

struct vm_page *
uvm_pagealloc(struct uvm_object *obj, voff_t off, struct vm_anon *anon,
    int flags)
{
	struct vm_page *pg;

	KASSERT(obj == NULL || anon == NULL);
	KASSERT(obj == NULL);		/* no object pages on this machine */
	KASSERT(anon == NULL || off == 0);
	KASSERT(off == (voff_t)trunc_page(off));
	KASSERT(anon == NULL || mutex_owned(&anon->an_lock));
	KASSERT(anon == NULL || anon->an_page == NULL);
	KASSERT(uvm_pagelists != NULL);

	uvmemu::inject::OnAllocation(uvmemu::AllocKind::kPage, KMEM_SITE());
	if (uvmemu::inject::ShouldFail(uvmemu::AllocKind::kPage,
	    KMEM_SITE()))
		goto fail;

	mutex_enter(&uvm_fpageqlock);
	if (uvm_pagelists->pl_free.empty()) {
		mutex_exit(&uvm_fpageqlock);
		goto fail;
	}
	pg = &uvm_pagelists->pl_free.front();
	uvm_pagelists->pl_free.pop_front();
	if (pg == uvm_free_runtail)
		uvm_free_runtail = NULL;	/* the run is used up */
	KASSERT(pg->pqflags & PQ_FREE);
	KASSERT(uvmexp.free > 0);
	uvmexp.free--;
	mutex_exit(&uvm_fpageqlock);

	uvm_wait_noprogress = 0;
	if (uvm_pagedaemon_lid != 0 && uvm_pageout_needed())
		wakeup(&uvm_pagedaemon_wchan);

	pg->offset = off;
	pg->uobject = obj;
	pg->uanon = anon;
	pg->flags = PG_BUSY|PG_CLEAN|PG_FAKE;
	pg->pqflags = 0;
	pg->loan_count = 0;
	pg->wire_count = 0;
	pg->owner_tag = NULL;
	pg->owner_lid = -1;
	if (anon) {
		anon->an_page = pg;
		pg->pqflags = PQ_ANON;
		uvmexp.anonpages++;
	}
	UVM_PAGE_OWN(pg, "new alloc");

	if (flags & UVM_PGA_ZERO) {
		/*
		 * a zero'd page is not clean.  freed pages are poisoned,
		 * never pre-zeroed, so we always zero it ourselves.
		 */
		uvm_pagezero(pg);
	}

	return(pg);

 fail:
	uvmexp.pagealloc_fail++;
	return (NULL);
}

/*
 * uvm_pagefree: free page
 *
 * => erase page's identity (i.e. remove from anon)
 * => put page on free list
 * => caller must lock page queues if the page is on one
 * => caller must lock the owning anon, if any
 * => the frame is poisoned with 0xdf bytes, so stale reads show
 * => the page goes to the head of the free list, or behind the page
 *    before it (see uvm_free_runtail)
 */

void
uvm_pagefree(struct vm_page *pg)
{

	KASSERT(pg != NULL);
	KASSERT((pg->flags & PG_PAGEOUT) == 0);
	KASSERT(!(pg->pqflags & PQ_FREE));
	KASSERT(mutex_owned(&uvm_pageqlock) || !uvm_page_queued_p(pg));
	KASSERT(pg->uobject == NULL);
	KASSERT(pg->uanon == NULL || mutex_owned(&pg->uanon->an_lock));

	/*
	 * loans are not emulated: a page is never loaned.
	 */

	KASSERT(pg->loan_count == 0);

	/*
	 * remove page from its anon.
	 */

	if (pg->uanon != NULL) {
		KASSERT(pg->uanon->an_page == pg);
		pg->uanon->an_page = NULL;
		pg->uanon = NULL;
		KASSERT(uvmexp.anonpages > 0);
		uvmexp.anonpages--;
	}

	/*
	 * now remove the page from the queues.
	 */

	uvm_pagedequeue(pg);

	/*
	 * if the page was wired, unwire it now.
	 */

	if (pg->wire_count) {
		pg->wire_count = 0;
		uvmexp.wired--;
	}

	/*
	 * and put on free queue
	 */

	memset(uvm_pagedata(pg), UVM_PAGE_POISON, PAGE_SIZE);
	pg->flags = 0;
	pg->owner_tag = NULL;
	pg->owner_lid = -1;
	pg->offset = 0;

	mutex_enter(&uvm_fpageqlock);
	pg->pqflags = PQ_FREE;
	if (uvm_free_runtail != NULL && pg == uvm_free_runtail + 1) {
		/* extends the ascending run at the head (see above) */
		uvm_pagelists->pl_free.insert(std::next(
		    uvm_pagelists->pl_free.iterator_to(*uvm_free_runtail)),
		    *pg);
	} else {
		uvm_pagelists->pl_free.push_front(*pg);
	}
	uvm_free_runtail = pg;
	uvmexp.free++;

	/*
	 * the kernel's page daemon wakes uvm_wait() sleepers after a scan;
	 * here every free does, so that any LWP freeing memory ends the
	 * wait (wakeup only scans the sleepers).
	 */

	wakeup(&uvmexp.free);
	mutex_exit(&uvm_fpageqlock);
}

/*
 * uvm_pagecopy: copy a page
 *
 * => the destination is no longer clean.
 */

void
uvm_pagecopy(struct vm_page *src, struct vm_page *dst)
{

	KASSERT((src->pqflags & PQ_FREE) == 0);
	KASSERT((dst->pqflags & PQ_FREE) == 0);
	dst->flags &= ~PG_CLEAN;
	memcpy(uvm_pagedata(dst), uvm_pagedata(src), PAGE_SIZE);
}

/*
 * uvm_pagezero: zero fill a page
 *
 * => a zero'd page is not clean.
 */

void
uvm_pagezero(struct vm_page *pg)
{

	KASSERT((pg->pqflags & PQ_FREE) == 0);
	pg->flags &= ~PG_CLEAN;
	memset(uvm_pagedata(pg), 0, PAGE_SIZE);
	uvmexp.zeropages++;
}

/*
 * uvm_pagewire: wire the page, thus removing it from the daemon's grasp
 *
 * => caller must lock page queues
 */

void
uvm_pagewire(struct vm_page *pg)
{

	KASSERT(mutex_owned(&uvm_pageqlock));
	KASSERT((pg->pqflags & PQ_FREE) == 0);
	if (pg->wire_count == 0) {
		uvm_pagedequeue(pg);
		uvmexp.wired++;
	}
	pg->wire_count++;
}

/*
 * uvm_pageunwire: unwire the page.
 *
 * => activate if wire count goes to zero.
 * => caller must lock page queues
 */

void
uvm_pageunwire(struct vm_page *pg)
{

	KASSERT(mutex_owned(&uvm_pageqlock));
	KASSERT(pg->wire_count > 0);
	pg->wire_count--;
	if (pg->wire_count == 0) {
		uvm_pageactivate(pg);
		uvmexp.wired--;
	}
}

/*
 * uvm_pagedeactivate: deactivate page
 *
 * => caller must lock page queues
 * => wired pages stay off the queues
 */

void
uvm_pagedeactivate(struct vm_page *pg)
{

	KASSERT(mutex_owned(&uvm_pageqlock));
	KASSERT((pg->pqflags & PQ_FREE) == 0);
	if (pg->pqflags & PQ_ACTIVE) {
		uvm_pagelists->pl_active.erase(
		    uvm_pagelists->pl_active.iterator_to(*pg));
		pg->pqflags &= ~PQ_ACTIVE;
		KASSERT(uvmexp.active > 0);
		uvmexp.active--;
	}
	if (pg->wire_count == 0 && (pg->pqflags & PQ_INACTIVE) == 0) {
		uvm_pagelists->pl_inactive.push_back(*pg);
		pg->pqflags |= PQ_INACTIVE;
		uvmexp.inactive++;
	}
}

/*
 * uvm_pageactivate: activate page
 *
 * => caller must lock page queues
 * => the page goes to the tail of the active queue, unless it is wired
 *    (wired pages are on no queue).
 */

void
uvm_pageactivate(struct vm_page *pg)
{

	KASSERT(mutex_owned(&uvm_pageqlock));
	KASSERT((pg->pqflags & PQ_FREE) == 0);
	uvm_pagedequeue(pg);
	if (pg->wire_count == 0) {
		uvm_pagelists->pl_active.push_back(*pg);
		pg->pqflags |= PQ_ACTIVE;
		uvmexp.active++;
	}
}

/*
 * uvm_pagedequeue: remove a page from any paging queue
 *
 * => caller must lock page queues if the page is on one
 */

void
uvm_pagedequeue(struct vm_page *pg)
{

	if (!uvm_page_queued_p(pg))
		return;
	KASSERT(mutex_owned(&uvm_pageqlock));
	if (pg->pqflags & PQ_ACTIVE) {
		uvm_pagelists->pl_active.erase(
		    uvm_pagelists->pl_active.iterator_to(*pg));
		pg->pqflags &= ~PQ_ACTIVE;
		KASSERT(uvmexp.active > 0);
		uvmexp.active--;
	} else {
		KASSERT(pg->pqflags & PQ_INACTIVE);
		uvm_pagelists->pl_inactive.erase(
		    uvm_pagelists->pl_inactive.iterator_to(*pg));
		pg->pqflags &= ~PQ_INACTIVE;
		KASSERT(uvmexp.inactive > 0);
		uvmexp.inactive--;
	}
}

/*
 * uvm_pageq_first: the first (oldest) page of a paging queue.
 *
 * => pq is PQ_ACTIVE or PQ_INACTIVE; caller must lock page queues.
 * => with uvm_pageq_next, the page daemon's walk of the queues (the
 *    kernel's pdpolicy walks its TAILQs directly).
 */

struct vm_page *
uvm_pageq_first(int pq)
{
	pglist_t *pl;

	KASSERT(mutex_owned(&uvm_pageqlock));
	KASSERT(pq == PQ_ACTIVE || pq == PQ_INACTIVE);
	pl = (pq == PQ_ACTIVE) ? &uvm_pagelists->pl_active :
	    &uvm_pagelists->pl_inactive;
	return pl->empty() ? NULL : &pl->front();
}

/*
 * uvm_pageq_next: the page after pg on its paging queue, or NULL.
 *
 * => caller must lock page queues.
 */

struct vm_page *
uvm_pageq_next(struct vm_page *pg)
{
	pglist_t *pl;

	KASSERT(mutex_owned(&uvm_pageqlock));
	KASSERT(uvm_page_queued_p(pg));
	pl = (pg->pqflags & PQ_ACTIVE) ? &uvm_pagelists->pl_active :
	    &uvm_pagelists->pl_inactive;
	pglist_t::iterator it = pl->iterator_to(*pg);
	++it;
	return it == pl->end() ? NULL : &*it;
}

/*
 * uvm_page_own: set or release page ownership
 *
 * => this is a debugging function that keeps track of who sets PG_BUSY
 *	and where they do it.   it can be used to track down problems
 *	such a process setting "PG_BUSY" and never releasing it.
 * => page's anon must be locked
 * => if "tag" is NULL then we are releasing page ownership
 */

void
uvm_page_own(struct vm_page *pg, const char *tag)
{
	struct vm_anon *anon;

	KASSERT((pg->flags & (PG_PAGEOUT|PG_RELEASED)) == 0);
	KASSERT(pg->uobject == NULL);
	anon = pg->uanon;
	if (anon != NULL) {
		KASSERT(mutex_owned(&anon->an_lock));
	}

	/* gain ownership? */
	if (tag) {
		KASSERT((pg->flags & PG_BUSY) != 0);
		if (pg->owner_tag) {
			panic("uvm_page_own: page %p already owned "
			    "by lwp %d [%s]", pg, pg->owner_lid,
			    pg->owner_tag);
		}
		pg->owner_lid = (curlwp) ? curlwp->l_lid : -1;
		pg->owner_tag = tag;
		return;
	}

	/* drop ownership */
	KASSERT((pg->flags & PG_BUSY) == 0);
	if (pg->owner_tag == NULL) {
		panic("uvm_page_own: dropping ownership of an non-owned "
		    "page (%p)", pg);
	}
	if (!uvm_page_queued_p(pg)) {
		KASSERT((pg->uanon == NULL && pg->uobject == NULL) ||
		    pg->wire_count > 0);
	} else {
		KASSERT(pg->wire_count == 0);
	}
	pg->owner_tag = NULL;
	pg->owner_lid = -1;
}

/*
 * uvm_pagedata: the page's bytes, through the arena's direct map.
 */

void *
uvm_pagedata(struct vm_page *pg)
{

	return uvmemu::arena::FrameData(pg);
}

/*
 * uvm_pagebyphys: the page at physical address pa, or NULL.
 */

struct vm_page *
uvm_pagebyphys(paddr_t pa)
{

	return uvmemu::arena::PageByPhys(pa);
}

/*
 * uvm_wait: wait (sleep) for the page daemon to free some pages
 *
 * => the page daemon, when it runs as a kernel thread, is woken (it
 *    sleeps on &uvm_pagedaemon_wchan).  otherwise the waiting LWP does
 *    the page daemon's work itself, inline, when free memory is below
 *    the page daemon's threshold.
 * => if pages are free, the allocation failure was injected (or was
 *    transient), or the page-out freed some: we only offer the CPU
 *    (preempt) and return, to let the caller retry.  a caller that
 *    keeps failing and retrying without any page allocation ever
 *    succeeding (an allocation made to fail every time) would spin
 *    forever: after UVM_WAIT_LIVELOCK such calls in a row, that is
 *    reported.
 * => if no page is free we sleep on &uvmexp.free, which uvm_pagefree()
 *    wakes: the page daemon's work, or any other LWP freeing memory,
 *    ends the wait.  the free-list lock is the interlock, so a page
 *    freed between the check and the sleep cannot be missed.
 * => with no other LWP in existence nobody could ever free a page: that
 *    is reported at once.  otherwise, if every LWP ends up waiting, the
 *    scheduler reports the deadlock.
 * => callers hold no lock the page-out takes (page queues, anons),
 *    except that it skips anons whose lock is held.
 */

void
uvm_wait(const char *wmsg)
{
	int freed;
	UVMHIST_FUNC("uvm_wait"); UVMHIST_CALLED(pdhist);

	if (mutex_owned(&uvm_pageqlock))
		panic("uvm_wait(%s): called with the page queues locked", wmsg);

	freed = 0;
	wakeup(&uvm_pagedaemon_wchan);
	if (uvm_pagedaemon_lid == 0 && uvm_pageout_needed())
		freed = uvm_pageout_run(uvmexp.freetarg - uvmexp.free);

	mutex_enter(&uvm_fpageqlock);
	if (uvmexp.free > 0) {
		mutex_exit(&uvm_fpageqlock);
		if (++uvm_wait_noprogress >= UVM_WAIT_LIVELOCK) {
			panic("uvm_wait(%s): called %d times in a row without a "
			    "successful page allocation (livelock: an "
			    "allocation that always fails?)", wmsg,
			    uvm_wait_noprogress);
		}
		UVMHIST_LOG(pdhist, "  <- paged out %d, %d pages free, not "
		    "sleeping (wmesg %p)", freed, uvmexp.free, wmsg, 0);
		preempt();
		return;
	}
	if (!uvmemu::sched::OtherLwpsExist()) {
		mutex_exit(&uvm_fpageqlock);
		panic("uvm_wait(%s): out of physical pages and the page-out "
		    "freed none (%d active, %d inactive, %d wired, swap "
		    "%d of %d available slots only in swap)", wmsg,
		    uvmexp.active, uvmexp.inactive, uvmexp.wired,
		    uvmexp.swpgonly, uvmexp.swpgavail);
	}
	UVMHIST_LOG(pdhist, "  sleeping on uvmexp.free (wmesg %p)", wmsg,
	    0, 0, 0);
	mtsleep(&uvmexp.free, PVM | PNORELOCK, wmsg, 0, &uvm_fpageqlock);
	UVMHIST_LOG(pdhist, "  <- woken, %d pages free", uvmexp.free, 0, 0,
	    0);
}

/*
 * uvm_unlock_and_wait: UVM_UNLOCK_AND_WAIT(): drop the interlock and
 * sleep on event (a busy page) until its owner wakes us.
 *
 * => the owner clears PG_BUSY and, seeing PG_WANTED, calls wakeup(pg).
 * => the interlock is released once we are asleep, so that wakeup
 *    cannot be lost; it is not re-taken (the caller restarts).
 * => if nobody can ever run to wake us, the scheduler reports the
 *    deadlock ("deadlock: <msg>: LWP n sleeping on ...").
 */

void
uvm_unlock_and_wait(void *event, kmutex_t *slock, bool intr, const char *msg,
    int timo)
{
	UVMHIST_FUNC("uvm_unlock_and_wait"); UVMHIST_CALLED(pdhist);

	(void)intr;
	UVMHIST_LOG(pdhist, "  event %p wmesg %p", event, msg, 0, 0);
	mtsleep(event, PVM | PNORELOCK, msg, timo, slock);
	UVMHIST_LOG(pdhist, "  <- woken (event %p)", event, 0, 0, 0);
}
