/*
 * uvm_swap.cc: the emulated machine's swap device.
 *
 * NetBSD's uvm_swap.c manages swap partitions and files on the "drum",
 * allocating page-sized slots from a blist and doing I/O through the
 * buffer cache.  This machine has one swap device held in memory: an
 * array of nslots page-sized slots, numbered from 1 as drum slots are
 * (slot 0 means "no swap slot", as in an_swslot), with first-fit
 * allocation of runs of slots.
 *
 * A range of slots can be swapped off (uvm_swapoff, the kernel's
 * swap_off() of one device) and on again: slots that are off are not
 * allocated, as if the range were a swap device that was removed.
 * The page daemon (uvm_pdaemon.cc) writes pages here, faults and
 * uvm_anon_pagein() read them back.
 *
 * The slot store is host memory (mmap), not kmem: it belongs to the
 * emulated hardware, not to the kernel's allocations, and must not show
 * up in the kernel's leak accounting.
 */

#include "opt_uvmhist.h"

#include <sys/param.h>
#include <sys/systm.h>

#include <uvm/uvm.h>

#include <sys/mman.h>

/* a freed slot's contents, so that reads of stale slots show */
#define SWAP_POISON	0xd5

/*
 * walks of amap_swap_off() in a row by uvm_swapoff() that only waited
 * for memory before it gives up with EBUSY.
 */
#define UVM_SWAPOFF_MAXSTUCK	16

static kmutex_t uvm_swap_data_lock;	/* protects everything below */
static bool uvm_swap_configured;	/* device exists */
static int uvm_swap_nslots;		/* slots on the device */
static uint8_t *uvm_swap_used;		/* [1..nslots]: slot in use */
static uint8_t *uvm_swap_isoff;		/* [1..nslots]: slot swapped off */
static uint8_t *uvm_swap_store;		/* nslots pages of data */

static void *
uvm_swap_mmap(size_t len)
{
	void *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		panic("uvm_swap_init: cannot allocate %zu bytes of swap "
		    "device memory", len);
	return p;
}

static inline uint8_t *
uvm_swap_slotdata(int slot)
{

	return uvm_swap_store + (size_t)(slot - 1) * PAGE_SIZE;
}

/*
 * uvm_swap_init: configure the swap device with nslots slots.
 *
 * => nslots may be 0: a machine without swap (uvm_swap_alloc then
 *    always fails).
 */

void
uvm_swap_init(size_t nslots)
{

	KASSERT(!uvm_swap_configured);
	KASSERT(nslots < (size_t)INT32_MAX / 2);
	mutex_init(&uvm_swap_data_lock, MUTEX_DEFAULT, IPL_NONE);
	uvm_swap_nslots = (int)nslots;
	if (nslots != 0) {
		uvm_swap_used = (uint8_t *)uvm_swap_mmap(nslots + 1);
		uvm_swap_isoff = (uint8_t *)uvm_swap_mmap(nslots + 1);
		uvm_swap_store = (uint8_t *)uvm_swap_mmap(nslots * PAGE_SIZE);
	}
	uvmexp.swpages = (int)nslots;
	uvmexp.swpgavail = (int)nslots;
	uvmexp.swpginuse = 0;
	uvmexp.swpgonly = 0;
	uvm_swap_configured = true;
}

/*
 * uvm_swap_shutdown: remove the swap device.
 *
 * => slots still in use are simply dropped with the device: a slot is
 *    only a number, and leaks are reported by the kernel's leak check
 *    (uvm_swap_inuse()) before shutdown, not here.
 */

void
uvm_swap_shutdown(void)
{

	KASSERT(uvm_swap_configured);
	if (uvm_swap_nslots != 0) {
		munmap(uvm_swap_used, (size_t)uvm_swap_nslots + 1);
		munmap(uvm_swap_isoff, (size_t)uvm_swap_nslots + 1);
		munmap(uvm_swap_store, (size_t)uvm_swap_nslots * PAGE_SIZE);
	}
	uvm_swap_used = NULL;
	uvm_swap_isoff = NULL;
	uvm_swap_store = NULL;
	uvm_swap_nslots = 0;
	uvmexp.swpages = 0;
	uvmexp.swpgavail = 0;
	uvmexp.swpginuse = 0;
	uvmexp.swpgonly = 0;
	mutex_destroy(&uvm_swap_data_lock);
	uvm_swap_configured = false;
}

/*
 * uvm_swap_alloc: allocate space on swap
 *
 * => allocation is done "swap-wide": the first run of *nslots free
 *    slots is taken; slots that are swapped off are not free.
 * => if lessok is set and no run of *nslots slots is free, we try a
 *    single slot (and set *nslots to 1), as the kernel does.
 * => returns the first slot of the run, or 0 if no space.
 */

int
uvm_swap_alloc(int *nslots, bool lessok)
{
	int slot, run, want;
	UVMHIST_FUNC("uvm_swap_alloc"); UVMHIST_CALLED(pdhist);

	KASSERT(*nslots > 0);

	/*
	 * no swap configured?
	 */

	if (!uvm_swap_configured || uvm_swap_nslots == 0)
		return 0;

	mutex_enter(&uvm_swap_data_lock);
ReTry:
	want = *nslots;
	run = 0;
	for (slot = 1; slot <= uvm_swap_nslots; slot++) {
		if (uvm_swap_used[slot] || uvm_swap_isoff[slot]) {
			run = 0;
			continue;
		}
		if (++run == want) {
			int start = slot - want + 1, i;

			for (i = start; i <= slot; i++)
				uvm_swap_used[i] = 1;
			uvmexp.swpginuse += want;
			mutex_exit(&uvm_swap_data_lock);
			UVMHIST_LOG(pdhist, "<- slots %d..%d", start,
			    slot, 0, 0);
			return start;
		}
	}

	if (*nslots > 1 && lessok) {
		*nslots = 1;
		goto ReTry;
	}
	mutex_exit(&uvm_swap_data_lock);
	UVMHIST_LOG(pdhist, "<- no space for %d slots", want, 0, 0, 0);
	return 0;
}

/*
 * uvm_swap_free: free swap slots
 *
 * => this can be all or part of an allocation made by uvm_swap_alloc
 * => freeing a slot that is not allocated panics
 */

void
uvm_swap_free(int startslot, int nslots)
{
	int slot;
	UVMHIST_FUNC("uvm_swap_free"); UVMHIST_CALLED(pdhist);

	UVMHIST_LOG(pdhist, "freeing %d slots starting at %d", nslots,
	    startslot, 0, 0);

	/*
	 * ignore attempts to free the "bad" slot.
	 */

	if (startslot == SWSLOT_BAD) {
		return;
	}

	KASSERT(uvm_swap_configured);
	KASSERT(nslots > 0);
	if (startslot < 1 || startslot + nslots - 1 > uvm_swap_nslots)
		panic("uvm_swap_free: slots %d..%d are not on the swap device "
		    "(slots 1..%d)", startslot, startslot + nslots - 1,
		    uvm_swap_nslots);

	mutex_enter(&uvm_swap_data_lock);
	for (slot = startslot; slot < startslot + nslots; slot++) {
		if (!uvm_swap_used[slot]) {
			/* nothing freed yet: the device is still consistent */
			mutex_exit(&uvm_swap_data_lock);
			panic("uvm_swap_free: slot %d is not allocated", slot);
		}
	}
	for (slot = startslot; slot < startslot + nslots; slot++) {
		uvm_swap_used[slot] = 0;
		memset(uvm_swap_slotdata(slot), SWAP_POISON, PAGE_SIZE);
	}
	KASSERT(uvmexp.swpginuse >= nslots);
	uvmexp.swpginuse -= nslots;
	mutex_exit(&uvm_swap_data_lock);
}

/*
 * uvm_swap_checkslot: panic unless slot is an allocated slot.
 *
 * => called with uvm_swap_data_lock held; drops it before panicking.
 */

static void
uvm_swap_checkslot(const char *fn, int slot)
{

	KASSERT(uvm_swap_configured);
	if (slot < 1 || slot > uvm_swap_nslots) {
		mutex_exit(&uvm_swap_data_lock);
		panic("%s: slot %d is not on the swap device (slots 1..%d)",
		    fn, slot, uvm_swap_nslots);
	}
	if (!uvm_swap_used[slot]) {
		mutex_exit(&uvm_swap_data_lock);
		panic("%s: slot %d is not allocated", fn, slot);
	}
}

/*
 * uvm_swap_put: write one page to an allocated swap slot.
 */

void
uvm_swap_put(int swslot, const void *page)
{

	mutex_enter(&uvm_swap_data_lock);
	uvm_swap_checkslot("uvm_swap_put", swslot);
	memcpy(uvm_swap_slotdata(swslot), page, PAGE_SIZE);
	mutex_exit(&uvm_swap_data_lock);
}

/*
 * uvm_swap_get: read one page from an allocated swap slot.
 */

void
uvm_swap_get(int swslot, void *page)
{

	mutex_enter(&uvm_swap_data_lock);
	uvm_swap_checkslot("uvm_swap_get", swslot);
	memcpy(page, uvm_swap_slotdata(swslot), PAGE_SIZE);
	mutex_exit(&uvm_swap_data_lock);
}

/*
 * uvm_swap_inuse: the number of swap slots allocated.
 */

int
uvm_swap_inuse(void)
{

	return uvmexp.swpginuse;
}

/*
 * uvm_swapisfull: is there no room left in swap?
 *
 * => as the kernel decides it: every available slot holds data that is
 *    only in swap (swpgonly >= swpgavail).  slots held by resident
 *    pages do not count: the page daemon can take them back.
 */

bool
uvm_swapisfull(void)
{
	bool rv;

	mutex_enter(&uvm_swap_data_lock);
	KASSERT(uvmexp.swpgonly <= uvmexp.swpginuse);
	rv = (uvmexp.swpgonly >= uvmexp.swpgavail);
	mutex_exit(&uvm_swap_data_lock);
	return rv;
}

/*
 * uvm_swap_setoff: mark slots [startslot, endslot) off (off true) or on.
 *
 * => returns ENXIO (and changes nothing) if a slot is already so.
 */

static int
uvm_swap_setoff(int startslot, int endslot, bool off)
{
	int slot;

	mutex_enter(&uvm_swap_data_lock);
	for (slot = startslot; slot < endslot; slot++) {
		if ((uvm_swap_isoff[slot] != 0) == off) {
			mutex_exit(&uvm_swap_data_lock);
			return ENXIO;
		}
	}
	for (slot = startslot; slot < endslot; slot++)
		uvm_swap_isoff[slot] = off;
	uvmexp.swpgavail += off ? -(endslot - startslot) :
	    endslot - startslot;
	mutex_exit(&uvm_swap_data_lock);
	return 0;
}

static bool
uvm_swap_rangeok(int startslot, int endslot)
{

	KASSERT(uvm_swap_configured);
	return startslot >= 1 && startslot < endslot &&
	    endslot <= uvm_swap_nslots + 1;
}

/*
 * uvm_swap_rangeinuse: the number of slots in [startslot, endslot) in use.
 *
 * => the range must lie on the device (uvm_swap_rangeok).
 */

int
uvm_swap_rangeinuse(int startslot, int endslot)
{
	int slot, n;

	KASSERT(uvm_swap_rangeok(startslot, endslot));
	n = 0;
	mutex_enter(&uvm_swap_data_lock);
	for (slot = startslot; slot < endslot; slot++)
		n += uvm_swap_used[slot];
	mutex_exit(&uvm_swap_data_lock);
	return n;
}

/*
 * uvm_swapoff: turn off swap slots [startslot, endslot), as the kernel's
 * swap_off() removes a swap device.
 *
 * => the slots are disabled first, so that the page daemon does not
 *    page out into them while we empty them.  then amap_swap_off()
 *    pages every anon with a slot in the range back in (an anon's page
 *    that is resident just loses its slot).  if that fails for lack of
 *    memory (ENOMEM), or a slot is still in use afterwards (EBUSY: an
 *    anon outside every amap holds it), the slots are enabled again.
 * => amap_swap_off() is called again while it makes progress: after a
 *    page-in that had to wait for memory it rescans the amap from its
 *    second anon (i = 0, then i++), so the first one can be left in
 *    swap (the kernel would fail with EBUSY; known defect 3 in
 *    docs/known-defects.md).  a walk whose only effect
 *    was such a wait counts as progress, a few times in a row at most.
 *    see docs/paging.md.
 * => on success the slots are no longer part of swap (swpages shrinks)
 *    until uvm_swapon() of them.
 * => EINVAL for a range outside the device, ENXIO if a slot in it is
 *    already off.
 * => the kernel serializes swapctl(2) with swap_syscall_lock; on the
 *    single-LWP machine nothing else runs while we wait for memory, and
 *    overlapping ranges are refused with ENXIO.
 */

int
uvm_swapoff(int startslot, int endslot)
{
	int error, npages, inuse, left, noram, stuck;
	UVMHIST_FUNC("uvm_swapoff"); UVMHIST_CALLED(pdhist);

	if (!uvm_swap_rangeok(startslot, endslot))
		return EINVAL;
	error = uvm_swap_setoff(startslot, endslot, true);
	if (error)
		return error;
	npages = endslot - startslot;
	UVMHIST_LOG(pdhist, "slots %d..%d off, %d in use", startslot,
	    endslot - 1, uvm_swap_rangeinuse(startslot, endslot), 0);

	/*
	 * bring back every page that lives in the range.  only anons are
	 * backed by swap here (there are no aobjs).
	 */

	inuse = uvm_swap_rangeinuse(startslot, endslot);
	stuck = 0;
	for (;;) {
		noram = uvmexp.fltnoram;
		if (amap_swap_off(startslot, endslot)) {
			error = ENOMEM;
			break;
		}
		left = uvm_swap_rangeinuse(startslot, endslot);
		if (left == 0)
			break;

		/*
		 * go again if the walk paged something in, or had to wait
		 * for memory (the anon it waited for may have been skipped);
		 * give up after walks that did neither, or only waited.
		 */

		if (left < inuse)
			stuck = 0;
		else if (uvmexp.fltnoram == noram ||
		    ++stuck >= UVM_SWAPOFF_MAXSTUCK) {
			error = EBUSY;
			break;
		}
		inuse = left;
	}
	if (error) {
		(void)uvm_swap_setoff(startslot, endslot, false);
		UVMHIST_LOG(pdhist, "<- failed (%d), slots back on", error,
		    0, 0, 0);
		return error;
	}
	mutex_enter(&uvm_swap_data_lock);
	uvmexp.swpages -= npages;
	mutex_exit(&uvm_swap_data_lock);
	UVMHIST_LOG(pdhist, "<- %d slots off", npages, 0, 0, 0);
	return 0;
}

/*
 * uvm_swapon: turn slots [startslot, endslot) that uvm_swapoff() turned
 * off back on.
 *
 * => EINVAL for a range outside the device, ENXIO if a slot in it is on.
 */

int
uvm_swapon(int startslot, int endslot)
{
	int error;

	if (!uvm_swap_rangeok(startslot, endslot))
		return EINVAL;
	error = uvm_swap_setoff(startslot, endslot, false);
	if (error)
		return error;
	mutex_enter(&uvm_swap_data_lock);
	uvmexp.swpages += endslot - startslot;
	mutex_exit(&uvm_swap_data_lock);
	return 0;
}

/*
 * uvm_swap_devsize: the number of slots on the device, on or off.
 */

int
uvm_swap_devsize(void)
{

	return uvm_swap_nslots;
}

/*
 * uvm_swap_slotison: is slot (on the device) on?
 */

bool
uvm_swap_slotison(int slot)
{

	KASSERT(slot >= 1 && slot <= uvm_swap_nslots);
	return uvm_swap_isoff[slot] == 0;
}
