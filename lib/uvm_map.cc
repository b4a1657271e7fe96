/*
 * uvm_map.cc: address maps, map entries and address spaces.
 *
 * The map routines of NetBSD's uvm_map.c of the 5.0 era (the revision
 * that goes with uvm_amap.c 1.87), for anonymous memory only: there are
 * no uvm_objects, no submaps and no kernel map entries on this machine.
 *
 *	- entries: allocating, linking and looking up entries, and clipping
 *	  an entry in two (which splits its amap reference with
 *	  amap_splitref()).  the kernel keeps a map's entries on a sorted
 *	  list threaded through an RB tree; here they are in a
 *	  Boost.Intrusive red-black tree (a set ordered by start address)
 *	  kept in struct vm_map_impl, and link/unlink need no "after" hint.
 *	- mapping (uvm_map_anon, the anonymous-memory case of uvm_map()),
 *	  with the kernel's merging of a new mapping into its neighbours by
 *	  amap_extend(), and uvm_mapent_trymerge() for amap_copy().
 *	- unmapping (uvm_unmap: uvm_unmap_remove + uvm_unmap_detach),
 *	  protection, inheritance, wiring (uvm_map_pageable) and
 *	  uvm_map_checkprot.
 *	- address spaces: uvmspace_alloc, uvmspace_free and uvmspace_fork.
 *
 * locking: a map has one kmutex (map->lock) where the kernel has a
 * reader/writer lock; every routine here that the kernel documents as
 * taking the map lock takes it.  the lock order is map, amap, anon,
 * page queues.
 */

#include "opt_uvmhist.h"

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kmem.h>

#include <uvm/uvm.h>

#include <new>

#include <boost/intrusive/set.hpp>

/*
 * the entry tree: entries ordered by start address.  entries of one map
 * never overlap, so the start address is a unique key.
 */

struct uvm_mapent_cmp {
	bool
	operator()(const struct vm_map_entry &a,
	    const struct vm_map_entry &b) const
	{
		return a.start < b.start;
	}
};

/* compare an address with an entry's start, for lookups by address */
struct uvm_mapent_vacmp {
	bool
	operator()(vaddr_t va, const struct vm_map_entry &e) const
	{
		return va < e.start;
	}
	bool
	operator()(const struct vm_map_entry &e, vaddr_t va) const
	{
		return e.start < va;
	}
};

typedef boost::intrusive::set<struct vm_map_entry,
    boost::intrusive::member_hook<struct vm_map_entry,
	decltype(vm_map_entry::rb_entry), &vm_map_entry::rb_entry>,
    boost::intrusive::compare<uvm_mapent_cmp>> uvm_map_tree_t;

struct vm_map_impl {
	uvm_map_tree_t	mi_tree;	/* entries, by start address */
};

/*
 * the kernel's own map.  no amap ever belongs to it (amap_copy asserts
 * that its map is not kernel_map); it exists so that that assertion
 * compares against a real, distinct map.  it has no entry tree, and the
 * routines below refuse it.
 */

static struct vm_map kernel_map_store;
struct vm_map *kernel_map = &kernel_map_store;

/*
 * map flags and entry flags (the kernel's uvm_map.h)
 */

#define UVM_MAP_NOMERGE		0x10	/* entry: not mergable */

#define UVM_ADV_NORMAL		0x0	/* 'normal' madvise advice */

/*
 * VM_MAP_RANGE_CHECK: clamp [start, end) to the map's range.
 */

#define VM_MAP_RANGE_CHECK(map, start, end) do {			\
	if ((start) < (map)->min_offset)				\
		(start) = (map)->min_offset;				\
	if ((end) > (map)->max_offset)					\
		(end) = (map)->max_offset;				\
	if ((start) > (end))						\
		(start) = (end);					\
} while (/*CONSTCOND*/0)

#define vm_map_lock(map)	mutex_enter(&(map)->lock)
#define vm_map_unlock(map)	mutex_exit(&(map)->lock)


/*
 * address spaces in existence, and the id the next one gets.  ids start
 * at 1 at every boot (a boot starts with no address spaces), so that a
 * run's messages and traces do not depend on what ran before it.
 */

static int uvm_vmspace_count;
static int uvm_vmspace_lastid;

/*
 * uvm_map_setup: init map
 *
 * => map must not be in service yet.
 * => the map has no pmap: uvmspace_alloc gives its map one.
 */

static void
uvm_map_setup(struct vm_map *map, vaddr_t vmin, vaddr_t vmax)
{
	struct vm_map_impl *impl;

	KASSERT(vmin < vmax);
	KASSERT((vmin & PAGE_MASK) == 0);
	KASSERT((vmax & PAGE_MASK) == 0);
	impl = kmem_alloc(sizeof(*impl), KM_SLEEP);
	map->impl = new (impl) vm_map_impl;
	map->pmap = NULL;
	mutex_init(&map->lock, MUTEX_DEFAULT, IPL_NONE);
	map->nentries = 0;
	map->size = 0;
	map->min_offset = vmin;
	map->max_offset = vmax;
	map->flags = 0;
}

/*
 * uvm_map_teardown: undo uvm_map_setup on an empty map.
 */

static void
uvm_map_teardown(struct vm_map *map)
{

	KASSERT(map != kernel_map);
	KASSERT(map->impl != NULL);
	KASSERT(map->nentries == 0);
	KASSERT(map->size == 0);
	KASSERT(map->impl->mi_tree.empty());
	KASSERT(!mutex_owned(&map->lock));
	map->impl->~vm_map_impl();
	kmem_free(map->impl, sizeof(*map->impl));
	map->impl = NULL;
	mutex_destroy(&map->lock);
}

/*
 * uvm_map_create: create a new, empty map covering [min, max).
 *
 * => the map has no pmap (map->pmap is NULL): its entries can be
 *    manipulated but not faulted on.  address spaces come from
 *    uvmspace_alloc().
 */

struct vm_map *
uvm_map_create(vaddr_t vmin, vaddr_t vmax)
{
	struct vm_map *map;

	map = kmem_zalloc(sizeof(*map), KM_SLEEP);
	uvm_map_setup(map, vmin, vmax);
	return map;
}

/*
 * uvm_map_destroy: free an empty map made by uvm_map_create.
 *
 * => all entries must have been unlinked (and their amaps unreferenced)
 *    first.
 */

void
uvm_map_destroy(struct vm_map *map)
{

	KASSERT(map->pmap == NULL);	/* address spaces: uvmspace_free */
	uvm_map_teardown(map);
	kmem_free(map, sizeof(*map));
}

/*
 * uvm_mapent_alloc: allocate a map entry
 *
 * => the entry is zeroed (no amap, no protection, not linked).
 * => with UVM_FLAG_NOWAIT the allocation may fail (NULL).
 */

struct vm_map_entry *
uvm_mapent_alloc(struct vm_map *map, int flags)
{
	struct vm_map_entry *me;
	const km_flag_t kmflags =
	    (flags & UVM_FLAG_NOWAIT) ? KM_NOSLEEP : KM_SLEEP;
	UVMHIST_FUNC("uvm_mapent_alloc"); UVMHIST_CALLED(maphist);

	(void)map;
	me = kmem_zalloc(sizeof(*me), kmflags);
	if (__predict_false(me == NULL)) {
		return NULL;
	}
	me = new (me) vm_map_entry();	/* construct the tree hook */
	me->flags = 0;

	UVMHIST_LOG(maphist, "<- new entry=%p [kentry=%d]", me,
	    0, 0, 0);
	return (me);
}

/*
 * uvm_mapent_free: free map entry
 *
 * => the entry must not be linked into a map.
 */

void
uvm_mapent_free(struct vm_map_entry *me)
{
	UVMHIST_FUNC("uvm_mapent_free"); UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist,"<- freeing map entry=%p [flags=%d]",
		me, me->flags, 0, 0);
	KASSERT(!me->rb_entry.is_linked());
	me->~vm_map_entry();
	kmem_free(me, sizeof(*me));
}

/*
 * uvm_mapent_copy: copy a map entry (everything but its tree linkage)
 */

static inline void
uvm_mapent_copy(struct vm_map_entry *src, struct vm_map_entry *dst)
{

	dst->start = src->start;
	dst->end = src->end;
	dst->aref = src->aref;
	dst->etype = src->etype;
	dst->protection = src->protection;
	dst->max_protection = src->max_protection;
	dst->inheritance = src->inheritance;
	dst->wired_count = src->wired_count;
	dst->advice = src->advice;
	dst->flags = src->flags;
}

/*
 * uvm_map_entry_link: insert entry into a map
 *
 * => map must be locked
 * => the entry must be page aligned, inside the map, and must not
 *    overlap any entry already in it.
 */

void
uvm_map_entry_link(struct vm_map *map, struct vm_map_entry *entry)
{
	uvm_map_tree_t::iterator next;

	KASSERT(map->impl != NULL);
	uvm_map_tree_t &tree = map->impl->mi_tree;
	KASSERT(!entry->rb_entry.is_linked());
	KASSERT(entry->start < entry->end);
	KASSERT((entry->start & PAGE_MASK) == 0);
	KASSERT((entry->end & PAGE_MASK) == 0);
	KASSERT(map->min_offset <= entry->start);
	KASSERT(entry->end <= map->max_offset);

	next = tree.upper_bound(entry->start, uvm_mapent_vacmp());
	if (next != tree.end() && entry->end > next->start)
		panic("uvm_map_entry_link: entry %p [%#lx, %#lx) overlaps "
		    "entry %p [%#lx, %#lx)", entry, entry->start, entry->end,
		    &*next, next->start, next->end);
	if (next != tree.begin()) {
		uvm_map_tree_t::iterator prev = next;

		--prev;
		if (prev->end > entry->start)
			panic("uvm_map_entry_link: entry %p [%#lx, %#lx) "
			    "overlaps entry %p [%#lx, %#lx)", entry,
			    entry->start, entry->end, &*prev, prev->start,
			    prev->end);
	}
	tree.insert_before(next, *entry);
	map->nentries++;
	map->size += entry->end - entry->start;
}

/*
 * uvm_map_entry_unlink: remove entry from a map
 *
 * => map must be locked
 */

void
uvm_map_entry_unlink(struct vm_map *map, struct vm_map_entry *entry)
{

	KASSERT(map->impl != NULL);
	KASSERT(entry->rb_entry.is_linked());
	KASSERT(map->nentries > 0);
	KASSERT(map->size >= entry->end - entry->start);
	map->impl->mi_tree.erase(map->impl->mi_tree.iterator_to(*entry));
	map->nentries--;
	map->size -= entry->end - entry->start;
}

/*
 * uvm_map_first: the lowest entry of a map, or NULL if it is empty.
 */

struct vm_map_entry *
uvm_map_first(struct vm_map *map)
{

	KASSERT(map->impl != NULL);
	if (map->impl->mi_tree.empty())
		return NULL;
	return &*map->impl->mi_tree.begin();
}

/*
 * uvm_map_next: the entry after entry, or NULL if it is the last.
 */

struct vm_map_entry *
uvm_map_next(struct vm_map *map, struct vm_map_entry *entry)
{
	uvm_map_tree_t::iterator it;

	KASSERT(map->impl != NULL);
	KASSERT(entry->rb_entry.is_linked());
	it = map->impl->mi_tree.iterator_to(*entry);
	++it;
	if (it == map->impl->mi_tree.end())
		return NULL;
	return &*it;
}

/*
 * uvm_map_prev: the entry before entry, or NULL if it is the first.
 */

static struct vm_map_entry *
uvm_map_prev(struct vm_map *map, struct vm_map_entry *entry)
{
	uvm_map_tree_t::iterator it;

	KASSERT(map->impl != NULL);
	KASSERT(entry->rb_entry.is_linked());
	it = map->impl->mi_tree.iterator_to(*entry);
	if (it == map->impl->mi_tree.begin())
		return NULL;
	--it;
	return &*it;
}

/*
 * uvm_map_lookup_entry: find map entry at or before an address
 *
 * => map must at least be read-locked by caller
 * => entry is returned in "entry"
 * => return value is true if address is in the returned entry
 * => if the address is in no entry, *entry is the entry before it, or
 *    NULL if there is none (where the kernel returns &map->header).
 */

bool
uvm_map_lookup_entry(struct vm_map *map, vaddr_t address,
    struct vm_map_entry **entry)
{
	uvm_map_tree_t::iterator it;
	UVMHIST_FUNC("uvm_map_lookup_entry");
	UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist,"(map=%p,addr=%#lx,ent=%p)",
	    map, address, entry, 0);

	KASSERT(map->impl != NULL);
	uvm_map_tree_t &tree = map->impl->mi_tree;

	/*
	 * the last entry starting at or below the address, if any
	 */

	it = tree.upper_bound(address, uvm_mapent_vacmp());
	if (it == tree.begin()) {
		*entry = NULL;
		UVMHIST_LOG(maphist,"<- failed! (no entry before)",
		    0, 0, 0, 0);
		return (false);
	}
	--it;
	*entry = &*it;
	if (address < it->end) {
		UVMHIST_LOG(maphist,"<- search got it (%p)",
		    *entry, 0, 0, 0);
		return (true);
	}
	UVMHIST_LOG(maphist,"<- failed! (previous entry %p)",
	    *entry, 0, 0, 0);
	return (false);
}

/*
 * uvm_mapent_splitadj: adjust map entries for splitting, after
 * uvm_mapent_copy().
 *
 * => entry1 becomes [entry1->start, splitat), entry2 [splitat, end).
 * => the amap reference is split: entry1 keeps the original reference
 *    (ar_pageoff), entry2 gets the split one (ar_pageoff + the slots
 *    left of splitat).
 */

static inline void
uvm_mapent_splitadj(struct vm_map_entry *entry1,
    struct vm_map_entry *entry2, vaddr_t splitat)
{
	vaddr_t adj;

	KASSERT(entry1->start < splitat);
	KASSERT(splitat < entry1->end);
	KASSERT((splitat & PAGE_MASK) == 0);
	/* there are no uvm_objects or submaps on this machine */
	KASSERT((entry1->etype & (UVM_ET_OBJ | UVM_ET_SUBMAP)) == 0);

	adj = splitat - entry1->start;
	entry1->end = entry2->start = splitat;

	if (entry1->aref.ar_amap) {
		amap_splitref(&entry1->aref, &entry2->aref, adj);
	}
}

/*
 * uvm_map_clip_start: ensure that the entry begins at or after
 *	the starting address, if it doesn't we split the entry.
 *
 * => caller should use UVM_MAP_CLIP_START macro rather than calling
 *    this directly
 * => map must be locked by caller
 */

void
uvm_map_clip_start(struct vm_map *map, struct vm_map_entry *entry,
    vaddr_t start, struct uvm_mapent_reservation *umr)
{
	struct vm_map_entry *new_entry;

	(void)umr;
	KASSERT(map->impl != NULL);
	KASSERT(entry->rb_entry.is_linked());

	/*
	 * Split off the front portion.  note that we must insert the new
	 * entry BEFORE this one, so that this entry has the specified
	 * starting address.
	 */

	new_entry = uvm_mapent_alloc(map, 0);
	uvm_mapent_copy(entry, new_entry); /* entry -> new_entry */
	uvm_mapent_splitadj(new_entry, entry, start);

	/*
	 * entry moved its start up in place (its place in the tree is
	 * unchanged); the front part is now new_entry's, which linking
	 * counts again.
	 */

	map->size -= new_entry->end - new_entry->start;
	uvm_map_entry_link(map, new_entry);
}

/*
 * uvm_map_clip_end: ensure that the entry ends at or before
 *	the ending address, if it does't we split the reference
 *
 * => caller should use UVM_MAP_CLIP_END macro rather than calling
 *    this directly
 * => map must be locked by caller
 */

void
uvm_map_clip_end(struct vm_map *map, struct vm_map_entry *entry, vaddr_t end,
    struct uvm_mapent_reservation *umr)
{
	struct vm_map_entry *new_entry;

	(void)umr;
	KASSERT(map->impl != NULL);
	KASSERT(entry->rb_entry.is_linked());

	/*
	 *	Create a new entry and insert it
	 *	AFTER the specified entry
	 */

	new_entry = uvm_mapent_alloc(map, 0);
	uvm_mapent_copy(entry, new_entry); /* entry -> new_entry */
	uvm_mapent_splitadj(entry, new_entry, end);

	/* the tail part moves from entry to new_entry (see clip_start) */
	map->size -= new_entry->end - new_entry->start;
	uvm_map_entry_link(map, new_entry);
}

/*
 * UVM_ET_ISCOMPATIBLE: can an entry be merged with a mapping of the
 * given type and attributes?  (the kernel's macro, without the object
 * and offset, which anonymous memory does not have)
 */

#define UVM_ET_ISCOMPATIBLE(ent, type, meflags, prot, maxprot, inh,	\
    adv, wire)								\
	((ent)->etype == (type) &&					\
	((ent)->flags & UVM_MAP_NOMERGE) == 0 &&			\
	(ent)->flags == (meflags) &&					\
	(ent)->protection == (prot) &&					\
	(ent)->max_protection == (maxprot) &&				\
	(ent)->inheritance == (inh) &&					\
	(ent)->advice == (adv) &&					\
	(ent)->wired_count == (wire))

/*
 * uvm_map_amap_extendable: may an entry's amap be extended (amap_extend)
 * to cover a neighbouring range, when merging?
 *
 * => only an amap with a single reference (the entry's), as the kernel
 *    checks.  note: no need to lock amap to look at refs since we don't
 *    care about its exact value.  if it is one (i.e. we have only
 *    reference) it will stay there.
 * => and, unlike the kernel, not an amap that lost its per-page
 *    reference counts (PPREF_NONE, after amap_pp_establish could not
 *    allocate them): such an amap cannot tell which of its slots are
 *    still mapped, so a part of it that was unmapped may still hold the
 *    anons of that mapping (amap_unref could not free them), and
 *    amap_extend of revision 1.87 maps them again in the new range,
 *    forwards (case 1f, or case 3 over them) as backwards (case 1b; cases
 *    2b and 3b even leave the amap inconsistent): the new mapping would
 *    show the old data instead of zeros.
 */

static inline bool
uvm_map_amap_extendable(const struct vm_amap *amap)
{

	return amap_refs(amap) == 1 && amap->am_ppref != PPREF_NONE;
}

/*
 * uvm_mapent_trymerge: try to merge an entry with its neighbors.
 *
 * => called by amap_copy() (UVM_MERGE_COPYING) when it is about to give
 *    an entry that has no amap a new one: if a neighbour with the same
 *    attributes (and no needs-copy) has an amap of its own (reference
 *    count one), that amap is extended with amap_extend() to cover the
 *    entry instead, and the two entries become one.
 * => without UVM_MERGE_COPYING, an entry without an amap is merged with
 *    neighbours that have no amap either.
 * => the map must be locked.
 * => returns the merged entry (always "entry" itself: the neighbours are
 *    freed), or NULL if nothing was merged.
 */

struct vm_map_entry *
uvm_mapent_trymerge(struct vm_map *map, struct vm_map_entry *entry,
    int flags)
{
	struct vm_map_entry *next;
	struct vm_map_entry *prev;
	vsize_t size;
	int merged = 0;
	bool copying;
	int newetype;
	UVMHIST_FUNC("uvm_mapent_trymerge"); UVMHIST_CALLED(maphist);

	KASSERT(map->impl != NULL);
	KASSERT(entry->rb_entry.is_linked());
	if (entry->aref.ar_amap != NULL) {
		return NULL;
	}
	if ((entry->flags & UVM_MAP_NOMERGE) != 0) {
		return NULL;
	}

	size = entry->end - entry->start;
	copying = (flags & UVM_MERGE_COPYING) != 0;
	newetype = copying ? (entry->etype & ~UVM_ET_NEEDSCOPY) : entry->etype;

	next = uvm_map_next(map, entry);
	if (next != NULL &&
	    next->start == entry->end &&
	    ((copying && next->aref.ar_amap != NULL &&
	    uvm_map_amap_extendable(next->aref.ar_amap)) ||
	    (!copying && next->aref.ar_amap == NULL)) &&
	    UVM_ET_ISCOMPATIBLE(next, newetype,
	    entry->flags, entry->protection,
	    entry->max_protection, entry->inheritance, entry->advice,
	    entry->wired_count)) {
		int error;

		if (copying) {
			error = amap_extend(next, size,
			    AMAP_EXTEND_NOWAIT|AMAP_EXTEND_BACKWARDS);
		} else {
			error = 0;
		}
		if (error == 0) {
			vsize_t nsize = next->end - next->start;

			uvm_map_entry_unlink(map, next);
			entry->end = next->end;
			map->size += nsize;
			if (copying) {
				entry->aref = next->aref;
				entry->etype &= ~UVM_ET_NEEDSCOPY;
				next->aref.ar_amap = NULL;
			}
			UVMHIST_LOG(maphist, "  forward merge: entry=%p "
			    "absorbed %p, now [%#lx, %#lx)", entry, next,
			    entry->start, entry->end);
			uvm_mapent_free(next);
			merged++;
		}
	}

	prev = uvm_map_prev(map, entry);
	if (prev != NULL &&
	    prev->end == entry->start &&
	    ((copying && !merged && prev->aref.ar_amap != NULL &&
	    uvm_map_amap_extendable(prev->aref.ar_amap)) ||
	    (!copying && prev->aref.ar_amap == NULL)) &&
	    UVM_ET_ISCOMPATIBLE(prev, newetype,
	    entry->flags, entry->protection,
	    entry->max_protection, entry->inheritance, entry->advice,
	    entry->wired_count)) {
		int error;

		if (copying) {
			error = amap_extend(prev, size,
			    AMAP_EXTEND_NOWAIT|AMAP_EXTEND_FORWARDS);
		} else {
			error = 0;
		}
		if (error == 0) {
			vsize_t psize = prev->end - prev->start;

			/*
			 * entry moves its start down over prev's range: its
			 * place in the tree is unchanged once prev is gone.
			 */

			uvm_map_entry_unlink(map, prev);
			entry->start = prev->start;
			map->size += psize;
			if (copying) {
				entry->aref = prev->aref;
				entry->etype &= ~UVM_ET_NEEDSCOPY;
				prev->aref.ar_amap = NULL;
			}
			UVMHIST_LOG(maphist, "  back merge: entry=%p "
			    "absorbed %p, now [%#lx, %#lx)", entry, prev,
			    entry->start, entry->end);
			uvm_mapent_free(prev);
			merged++;
		}
	}

	return merged ? entry : NULL;
}

/*
 * uvm_map_findspace: find "length" sized space in "map".
 *
 * => "hint" is a hint about where we want it; with UVM_FLAG_FIXED it is
 *    the only place we want it, and the space must be free.
 * => otherwise: first fit at or above the hint, and if nothing fits
 *    there, first fit from the bottom of the map (the kernel wraps
 *    around to the bottom too).
 * => map must be locked.
 * => returns false if nothing fits; else true, with the start address in
 *    *startp and the entry before it (NULL if none) in *result.
 */

static bool
uvm_map_findspace(struct vm_map *map, vaddr_t hint, vsize_t length,
    struct vm_map_entry **result, vaddr_t *startp, int flags)
{
	struct vm_map_entry *entry, *next;
	bool wrapped;
	UVMHIST_FUNC("uvm_map_findspace"); UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist, "(map=%p, hint=%#lx, len=%#lx, flags=%#x)",
	    map, hint, length, flags);
	KASSERT(mutex_owned(&map->lock));
	KASSERT(length != 0 && (length & PAGE_MASK) == 0);

	if (length > map->max_offset - map->min_offset) {
		UVMHIST_LOG(maphist, "<- too large", 0, 0, 0, 0);
		return false;
	}

	/*
	 * remember the original hint.  if we are aligning, then we
	 * may have to try again with the bottom of the map.
	 */

	wrapped = false;
	if (hint < map->min_offset) {
		if (flags & UVM_FLAG_FIXED) {
			UVMHIST_LOG(maphist, "<- fixed below map", 0, 0, 0, 0);
			return false;
		}
		hint = map->min_offset;
	}
	if (hint > map->max_offset || length > map->max_offset - hint) {
		if (flags & UVM_FLAG_FIXED) {
			UVMHIST_LOG(maphist, "<- fixed beyond map", 0, 0, 0, 0);
			return false;
		}
		hint = map->min_offset;
		wrapped = true;
	}

	/*
	 * fixed: the range must be free.
	 */

	if (flags & UVM_FLAG_FIXED) {
		KASSERT((hint & PAGE_MASK) == 0);
		if (uvm_map_lookup_entry(map, hint, &entry)) {
			UVMHIST_LOG(maphist, "<- fixed: %#lx is mapped",
			    hint, 0, 0, 0);
			return false;
		}
		next = entry ? uvm_map_next(map, entry) : uvm_map_first(map);
		if (next != NULL && next->start < hint + length) {
			UVMHIST_LOG(maphist, "<- fixed: entry %p at %#lx is in "
			    "the way", next, next->start, 0, 0);
			return false;
		}
		*result = entry;
		*startp = hint;
		return true;
	}

	hint = round_page(hint);
 again:
	if (uvm_map_lookup_entry(map, hint, &entry))
		hint = entry->end;
	next = entry ? uvm_map_next(map, entry) : uvm_map_first(map);
	for (;;) {
		if (hint > map->max_offset ||
		    length > map->max_offset - hint)
			break;
		if (next == NULL || hint + length <= next->start) {
			*result = entry;
			*startp = hint;
			UVMHIST_LOG(maphist, "<- got it!  (result=%#lx)",
			    hint, 0, 0, 0);
			return true;
		}
		entry = next;
		hint = next->end;
		next = uvm_map_next(map, next);
	}
	if (!wrapped && hint != map->min_offset) {
		hint = map->min_offset;
		wrapped = true;
		goto again;
	}
	UVMHIST_LOG(maphist, "<- no space", 0, 0, 0, 0);
	return false;
}

/*
 * uvm_map_anon_compat: may a new anonymous mapping with the given type
 * and attributes be merged with the neighbouring entry "ent"?
 *
 * => the kernel requires equal entry types.  but a new private mapping
 *    needs a copy (it has no amap yet), while a neighbour that has been
 *    written to has its amap and no longer needs one: the kernel merges
 *    those two only later, in uvm_mapent_trymerge() at the first write
 *    fault.  uvm_map_anon merges them at once: the new range joins the
 *    neighbour's amap as empty (zero-fill) slots, which is what that
 *    later merge does.  the needs-copy bit is therefore ignored here,
 *    and the merged entry keeps the needs-copy state of the entry whose
 *    amap it keeps (an entry without an amap always needs a copy).
 * => a neighbour's amap is only extended if uvm_map_amap_extendable()
 *    (the callers check).
 */

static inline bool
uvm_map_anon_compat(const struct vm_map_entry *ent, int etype, int meflags,
    vm_prot_t prot, vm_prot_t maxprot, vm_inherit_t inherit)
{

	if (ent->aref.ar_amap == NULL && !UVM_ET_ISNEEDSCOPY(ent))
		return false;
	return (ent->etype & ~UVM_ET_NEEDSCOPY) ==
	    (etype & ~UVM_ET_NEEDSCOPY) &&
	    (ent->flags & UVM_MAP_NOMERGE) == 0 &&
	    ent->flags == meflags &&
	    ent->protection == prot &&
	    ent->max_protection == maxprot &&
	    ent->inheritance == inherit &&
	    ent->advice == UVM_ADV_NORMAL &&
	    ent->wired_count == 0;
}

/*
 * uvm_map_anon: establish a valid mapping of anonymous memory in a map
 *
 * => the anonymous-memory case of the kernel's uvm_map()
 *    (UVM_FLAG_COPYONW with no object, as mmap(MAP_PRIVATE|MAP_ANON)
 *    asks for): the entry is copy-on-write and needs a copy, with no
 *    amap; amap_copy() creates the amap at the first fault.
 * => *startp is a hint (or, with UVM_FLAG_FIXED, the address); on
 *    success it is set to the address of the mapping.
 * => UVM_FLAG_NOMERGE: neither this mapping nor its entry is ever
 *    merged with a neighbour.
 * => UVM_FLAG_SHAREDANON: anonymous memory that is shared on fork
 *    (mmap(MAP_SHARED|MAP_ANON)).  the kernel backs such memory with an
 *    anonymous uvm_object (an aobj), which this machine does not have;
 *    a shared amap stands in: the entry gets MAP_INHERIT_SHARE and its
 *    own amap at once (no copy-on-write, no needs-copy), and
 *    uvmspace_fork() shares that amap.  as each aobj is a new object,
 *    such mappings are never merged.
 * => UVM_FLAG_NOWAIT: fail (ENOMEM) rather than sleep for memory.
 * => returns 0, EINVAL (bad size, alignment, inheritance or flags),
 *    EACCES (prot exceeds maxprot) or ENOMEM (no space: for
 *    UVM_FLAG_FIXED the range is outside the map or in use, or no
 *    memory).
 */

int
uvm_map_anon(struct vm_map *map, vaddr_t *startp, vsize_t size,
    vm_prot_t prot, vm_prot_t maxprot, vm_inherit_t inherit, int flags)
{
	struct vm_map_entry *prev_entry, *next_entry, *new_entry, *dead;
	struct vm_amap *amap;
	vaddr_t start;
	int newetype, meflagval, merged, error;
	const int amapwaitflag = (flags & UVM_FLAG_NOWAIT) ?
	    AMAP_EXTEND_NOWAIT : 0;
	UVMHIST_FUNC("uvm_map_anon"); UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist, "(map=%p, *startp=%#lx, size=%#lx, flags=%#x)",
	    map, *startp, size, flags);
	UVMHIST_LOG(maphist, "  prot=%#x, maxprot=%#x, inherit=%d",
	    prot, maxprot, inherit, 0);

	KASSERT(map != kernel_map);
	KASSERT(map->impl != NULL);

	/*
	 * check the arguments.
	 */

	if (size == 0 || (size & PAGE_MASK) != 0)
		return EINVAL;
	if ((flags & ~(UVM_FLAG_FIXED | UVM_FLAG_NOMERGE |
	    UVM_FLAG_SHAREDANON | UVM_FLAG_NOWAIT)) != 0)
		return EINVAL;
	if ((flags & UVM_FLAG_FIXED) != 0 &&
	    ((*startp & PAGE_MASK) != 0 || *startp + size < *startp))
		return EINVAL;
	if ((prot & ~VM_PROT_ALL) != 0 || (maxprot & ~VM_PROT_ALL) != 0)
		return EINVAL;
	switch (inherit) {
	case MAP_INHERIT_NONE:
	case MAP_INHERIT_COPY:
	case MAP_INHERIT_SHARE:
		break;
	default:
		return EINVAL;
	}
	if ((prot & maxprot) != prot) {
		UVMHIST_LOG(maphist, "<- prot. failure:  prot=%#x, max=%#x",
		    prot, maxprot, 0, 0);
		return EACCES;
	}

	if (flags & UVM_FLAG_SHAREDANON) {
		newetype = 0;
		inherit = MAP_INHERIT_SHARE;
	} else {
		newetype = UVM_ET_COPYONWRITE | UVM_ET_NEEDSCOPY;
	}
	meflagval = (flags & UVM_FLAG_NOMERGE) ? UVM_MAP_NOMERGE : 0;

	/*
	 * find space for the mapping.
	 */

	vm_map_lock(map);
	if (!uvm_map_findspace(map, *startp, size, &prev_entry, &start,
	    flags)) {
		vm_map_unlock(map);
		UVMHIST_LOG(maphist, "<- uvm_map_findspace failed!",
		    0, 0, 0, 0);
		return ENOMEM;
	}
	next_entry = prev_entry ? uvm_map_next(map, prev_entry) :
	    uvm_map_first(map);

	/*
	 * try and insert in map by extending previous entry, if possible.
	 */

	merged = 0;
	if (flags & (UVM_FLAG_NOMERGE | UVM_FLAG_SHAREDANON))
		goto nomerge;

	if (prev_entry != NULL && prev_entry->end == start &&
	    uvm_map_anon_compat(prev_entry, newetype, meflagval, prot,
	    maxprot, inherit)) {

		/*
		 * can't extend a shared amap (uvm_map_amap_extendable).
		 */

		if (prev_entry->aref.ar_amap &&
		    !uvm_map_amap_extendable(prev_entry->aref.ar_amap)) {
			goto forwardmerge;
		}

		if (prev_entry->aref.ar_amap) {
			error = amap_extend(prev_entry, size,
			    amapwaitflag | AMAP_EXTEND_FORWARDS);
			if (error)
				goto nomerge;
		}

		UVMHIST_LOG(maphist,"  starting back merge", 0, 0, 0, 0);
		prev_entry->end += size;
		map->size += size;
		merged++;
	}

 forwardmerge:
	if (next_entry != NULL && next_entry->start == start + size &&
	    uvm_map_anon_compat(next_entry, newetype, meflagval, prot,
	    maxprot, inherit)) {

		/*
		 * can't extend a shared amap, and we can't merge two amaps:
		 * if we merged with the previous entry which has an amap,
		 * and the next entry also has an amap, we give up.
		 *
		 * amap, new, amap -> give up second merge (single fwd extend)
		 * amap, new, none -> double forward extend (extend again here)
		 * none, new, amap -> double backward extend (done here)
		 */

		if (next_entry->aref.ar_amap &&
		    (!uvm_map_amap_extendable(next_entry->aref.ar_amap) ||
		     (merged && prev_entry->aref.ar_amap))) {
			goto nomerge;
		}

		if (merged) {

			/*
			 * try to extend the amap of the previous entry to
			 * cover the next entry as well.  if it doesn't work
			 * just skip on, don't actually give up, since we've
			 * already completed the back merge.
			 */

			if (prev_entry->aref.ar_amap) {
				if (amap_extend(prev_entry,
				    next_entry->end - next_entry->start,
				    amapwaitflag | AMAP_EXTEND_FORWARDS))
					goto nomerge;
			}

			/*
			 * try to extend the amap of the *next* entry back to
			 * cover the new allocation *and* the previous entry
			 * as well (the previous merge didn't have an amap
			 * already otherwise we wouldn't be checking here for
			 * an amap).
			 */

			else if (next_entry->aref.ar_amap) {
				if (amap_extend(next_entry,
				    prev_entry->end - prev_entry->start,
				    amapwaitflag | AMAP_EXTEND_BACKWARDS))
					goto nomerge;
			}
		} else {

			/*
			 * pull the next entry's amap backwards to cover this
			 * new allocation.
			 */

			if (next_entry->aref.ar_amap) {
				error = amap_extend(next_entry, size,
				    amapwaitflag | AMAP_EXTEND_BACKWARDS);
				if (error)
					goto nomerge;
			}
		}

		UVMHIST_LOG(maphist,"  starting forward merge", 0, 0, 0, 0);
		if (merged) {
			dead = next_entry;
			uvm_map_entry_unlink(map, dead);
			prev_entry->end = dead->end;
			map->size += dead->end - dead->start;
			if (dead->aref.ar_amap != NULL) {
				/* the amap's holder's needs-copy state */
				prev_entry->aref = dead->aref;
				prev_entry->etype = dead->etype;
				dead->aref.ar_amap = NULL;
			}
			uvm_mapent_free(dead);
		} else {

			/*
			 * the next entry moves its start down into the free
			 * range: its place in the tree is unchanged.
			 */

			next_entry->start -= size;
			map->size += size;
		}
		merged++;
	}

 nomerge:
	if (!merged) {
		UVMHIST_LOG(maphist,"  allocating new map entry", 0, 0, 0, 0);

		new_entry = uvm_mapent_alloc(map, flags & UVM_FLAG_NOWAIT);
		if (__predict_false(new_entry == NULL)) {
			vm_map_unlock(map);
			return ENOMEM;
		}
		new_entry->start = start;
		new_entry->end = start + size;
		new_entry->etype = newetype;
		new_entry->flags = meflagval;
		new_entry->protection = prot;
		new_entry->max_protection = maxprot;
		new_entry->inheritance = inherit;
		new_entry->wired_count = 0;
		new_entry->advice = UVM_ADV_NORMAL;
		new_entry->aref.ar_pageoff = 0;
		new_entry->aref.ar_amap = NULL;
		if (flags & UVM_FLAG_SHAREDANON) {
			amap = amap_alloc(size, 0, flags & UVM_FLAG_NOWAIT);
			if (__predict_false(amap == NULL)) {
				uvm_mapent_free(new_entry);
				vm_map_unlock(map);
				return ENOMEM;
			}
			new_entry->aref.ar_amap = amap;
		}
		uvm_map_entry_link(map, new_entry);
	}

	*startp = start;
	vm_map_unlock(map);
	UVMHIST_LOG(maphist,"<- done (start=%#lx, merged=%d)", start, merged,
	    0, 0);
	return 0;
}

/*
 * uvm_map_entry_unwire: unwire a map entry
 *
 * => map should be locked by caller
 */

static inline void
uvm_map_entry_unwire(struct vm_map *map, struct vm_map_entry *entry)
{

	entry->wired_count = 0;
	uvm_fault_unwire_locked(map, entry->start, entry->end);
}

/*
 * uvm_unmap_remove: remove mappings from a vm_map (from "start" up to
 *	"end")
 *
 * => caller must check alignment and size
 * => map must be locked by caller
 * => the entries of the range are clipped to it, unwired and their
 *    pages removed from the pmap; then they are unlinked and put on
 *    *deadq for uvm_unmap_detach().  all mappings have to be removed
 *    before we can even consider dropping references to amaps
 *    (otherwise we could end up with a mapping to a page on the free
 *    list).  the kernel chains dead entries on a list; here they go on a
 *    second entry tree (they have distinct start addresses).
 */

static void
uvm_unmap_remove(struct vm_map *map, vaddr_t start, vaddr_t end,
    uvm_map_tree_t *deadq)
{
	struct vm_map_entry *entry, *first_entry, *next;
	UVMHIST_FUNC("uvm_unmap_remove"); UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist,"(map=%p, start=%#lx, end=%#lx)",
	    map, start, end, 0);
	KASSERT(mutex_owned(&map->lock));
	VM_MAP_RANGE_CHECK(map, start, end);

	/*
	 * find first entry
	 */

	if (uvm_map_lookup_entry(map, start, &first_entry) == true) {
		/* clip and go... */
		entry = first_entry;
		UVM_MAP_CLIP_START(map, entry, start, NULL);
	} else {
		entry = first_entry ? uvm_map_next(map, first_entry) :
		    uvm_map_first(map);
	}

	/*
	 * break up the area into map entry sized regions and unmap.
	 */

	while (entry != NULL && entry->start < end) {
		UVM_MAP_CLIP_END(map, entry, end, NULL);
		next = uvm_map_next(map, entry);

		/*
		 * unwire before removing addresses from the pmap; otherwise
		 * unwiring will put the entries back into the pmap (XXX).
		 */

		if (VM_MAPENT_ISWIRED(entry)) {
			uvm_map_entry_unwire(map, entry);
		}

		/*
		 * remove mappings the standard way.
		 */

		if (map->pmap != NULL)
			pmap_remove(map->pmap, entry->start, entry->end);

		/*
		 * remove entry from map and put it on our list of entries
		 * that we've nuked.  then go to next entry.
		 */

		UVMHIST_LOG(maphist, "  removed map entry %p [%#lx, %#lx)",
		    entry, entry->start, entry->end, 0);
		uvm_map_entry_unlink(map, entry);
		deadq->insert(*entry);
		entry = next;
	}
	if (map->pmap != NULL)
		pmap_update(map->pmap);
	UVMHIST_LOG(maphist,"<- done!", 0, 0, 0, 0);
}

/*
 * uvm_unmap_detach: drop references in a chain of map entries
 *
 * => we will free the map entries as we traverse the list.
 * => the amap reference is dropped for exactly the pages the entry
 *    mapped: amap_unref() establishes per-page reference counts for a
 *    partial unmap of an amap that is still referenced elsewhere, and
 *    frees the anons no reference is left to.
 */

static void
uvm_unmap_detach(uvm_map_tree_t *deadq)
{
	struct vm_map_entry *first_entry;
	UVMHIST_FUNC("uvm_unmap_detach"); UVMHIST_CALLED(maphist);

	while (!deadq->empty()) {
		first_entry = &*deadq->begin();
		deadq->erase(deadq->begin());
		KASSERT(!VM_MAPENT_ISWIRED(first_entry));
		UVMHIST_LOG(maphist,
		    "  detach %p: amap=%p, pageoff=%d, len=%#lx",
		    first_entry, first_entry->aref.ar_amap,
		    first_entry->aref.ar_pageoff,
		    first_entry->end - first_entry->start);

		/*
		 * drop reference to amap, if we've got one
		 */

		if (first_entry->aref.ar_amap)
			amap_unref(first_entry->aref.ar_amap,
			    first_entry->aref.ar_pageoff,
			    (first_entry->end - first_entry->start) >>
			    PAGE_SHIFT, false);
		uvm_mapent_free(first_entry);
	}
	UVMHIST_LOG(maphist, "<- done", 0,0,0,0);
}

/*
 * uvm_unmap: remove mappings from a vm_map (from "start" up to "end")
 *
 * => caller must check alignment and size: EINVAL otherwise.
 * => map must be unlocked (we will lock it)
 * => holes in the range are skipped.
 */

int
uvm_unmap(struct vm_map *map, vaddr_t start, vaddr_t end)
{
	uvm_map_tree_t dead_entries;
	UVMHIST_FUNC("uvm_unmap"); UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist, "  (map=%p, start=%#lx, end=%#lx)",
	    map, start, end, 0);
	KASSERT(map != kernel_map);
	if ((start & PAGE_MASK) != 0 || (end & PAGE_MASK) != 0 ||
	    start > end)
		return EINVAL;

	/*
	 * work now done by helper functions.   wipe the pmap's and then
	 * detach from the dead entries...
	 */

	vm_map_lock(map);
	uvm_unmap_remove(map, start, end, &dead_entries);
	vm_map_unlock(map);

	uvm_unmap_detach(&dead_entries);
	UVMHIST_LOG(maphist, "<- done", 0,0,0,0);
	return 0;
}

/*
 * uvm_map_protect: change map protection
 *
 * => set_max means set max_protection.
 * => map must be unlocked.
 * => EACCES if the new protection exceeds an entry's maximum.
 * => mappings are only ever reduced in the pmap: more permission is
 *    given by the next fault.  copy-on-write entries are never given
 *    write permission here (MASK): their pages may be shared, and the
 *    fault handler decides.
 */

#define MASK(entry)	(UVM_ET_ISCOPYONWRITE(entry) ? \
			 ~VM_PROT_WRITE : VM_PROT_ALL)

int
uvm_map_protect(struct vm_map *map, vaddr_t start, vaddr_t end,
    vm_prot_t new_prot, bool set_max)
{
	struct vm_map_entry *current, *entry;
	int error = 0;
	UVMHIST_FUNC("uvm_map_protect"); UVMHIST_CALLED(maphist);
	UVMHIST_LOG(maphist,"(map=%p,start=%#lx,end=%#lx,new_prot=%#x)",
		    map, start, end, new_prot);

	KASSERT(map != kernel_map);
	if ((new_prot & ~VM_PROT_ALL) != 0)
		return EINVAL;

	vm_map_lock(map);
	VM_MAP_RANGE_CHECK(map, start, end);
	if (uvm_map_lookup_entry(map, start, &entry)) {
		UVM_MAP_CLIP_START(map, entry, start, NULL);
	} else {
		entry = entry ? uvm_map_next(map, entry) : uvm_map_first(map);
	}

	/*
	 * make a first pass to check for protection violations.
	 */

	current = entry;
	while (current != NULL && current->start < end) {
		if ((new_prot & current->max_protection) != new_prot) {
			error = EACCES;
			goto out;
		}
		current = uvm_map_next(map, current);
	}

	/* go back and fix up protections (no need to clip this time). */

	current = entry;
	while (current != NULL && current->start < end) {
		vm_prot_t old_prot;

		UVM_MAP_CLIP_END(map, current, end, NULL);
		old_prot = current->protection;
		if (set_max)
			current->protection =
			    (current->max_protection = new_prot) & old_prot;
		else
			current->protection = new_prot;

		/*
		 * update physical map if necessary.  the kernel masks with
		 * the first entry's type here (MASK(entry)); each entry's
		 * own type is what is meant.
		 */

		if (current->protection != old_prot && map->pmap != NULL) {

			/* update pmap! */
			pmap_protect(map->pmap, current->start, current->end,
			    current->protection & MASK(current));
		}
		current = uvm_map_next(map, current);
	}
	if (map->pmap != NULL)
		pmap_update(map->pmap);

 out:
	vm_map_unlock(map);
	UVMHIST_LOG(maphist, "<- done, error=%d",error,0,0,0);
	return error;
}

#undef MASK

/*
 * uvm_map_inherit: set inheritance code for range of addrs in map.
 *
 * => map must be unlocked
 * => note that the inherit code is used during a "fork".  see fork
 *	code for details.
 */

int
uvm_map_inherit(struct vm_map *map, vaddr_t start, vaddr_t end,
    vm_inherit_t new_inheritance)
{
	struct vm_map_entry *entry;
	UVMHIST_FUNC("uvm_map_inherit"); UVMHIST_CALLED(maphist);
	UVMHIST_LOG(maphist,"(map=%p,start=%#lx,end=%#lx,new_inh=%#x)",
	    map, start, end, new_inheritance);

	KASSERT(map != kernel_map);
	switch (new_inheritance) {
	case MAP_INHERIT_NONE:
	case MAP_INHERIT_COPY:
	case MAP_INHERIT_SHARE:
		break;
	default:
		UVMHIST_LOG(maphist,"<- done (INVALID ARG)",0,0,0,0);
		return EINVAL;
	}

	vm_map_lock(map);
	VM_MAP_RANGE_CHECK(map, start, end);
	if (uvm_map_lookup_entry(map, start, &entry)) {
		UVM_MAP_CLIP_START(map, entry, start, NULL);
	} else {
		entry = entry ? uvm_map_next(map, entry) : uvm_map_first(map);
	}
	while (entry != NULL && entry->start < end) {
		UVM_MAP_CLIP_END(map, entry, end, NULL);
		entry->inheritance = new_inheritance;
		entry = uvm_map_next(map, entry);
	}
	vm_map_unlock(map);
	UVMHIST_LOG(maphist,"<- done (OK)",0,0,0,0);
	return 0;
}

/*
 * uvm_map_pageable: sets the pageability of a range in a map.
 *
 * => wires map entries.  should not be used for transient page locking.
 *	for that, use uvm_fault_wire()/uvm_fault_unwire() (see uvm_vslock()).
 * => regions specified as not pageable require lock-down (wired) memory
 *	and page tables.
 * => map must never be read-locked
 * => returns 0, EINVAL (misaligned, a hole, or unwiring a range that is
 *    not wired, or wiring an entry with no access) or EFAULT (start is
 *    not mapped), or the error of the fault that failed to wire a page.
 */

int
uvm_map_pageable(struct vm_map *map, vaddr_t start, vaddr_t end,
    bool new_pageable)
{
	struct vm_map_entry *entry, *start_entry, *failed_entry, *next;
	int rv;
	UVMHIST_FUNC("uvm_map_pageable"); UVMHIST_CALLED(maphist);
	UVMHIST_LOG(maphist,"(map=%p,start=%#lx,end=%#lx,new_pageable=%u)",
		    map, start, end, new_pageable);

	KASSERT(map != kernel_map);
	if ((start & PAGE_MASK) != 0 || (end & PAGE_MASK) != 0 ||
	    start > end)
		return EINVAL;

	vm_map_lock(map);
	VM_MAP_RANGE_CHECK(map, start, end);

	/*
	 * only one pageability change may take place at one time, since
	 * uvm_fault_wire assumes it will be called only once for each
	 * wiring/unwiring.  therefore, we have to make sure we're actually
	 * changing the pageability for the entire region.  we do so before
	 * making any changes.
	 */

	if (uvm_map_lookup_entry(map, start, &start_entry) == false) {
		vm_map_unlock(map);
		UVMHIST_LOG(maphist,"<- done (fault)",0,0,0,0);
		return EFAULT;
	}
	entry = start_entry;

	/*
	 * handle wiring and unwiring separately.
	 */

	if (new_pageable) {		/* unwire */
		UVM_MAP_CLIP_START(map, entry, start, NULL);

		/*
		 * unwiring.  first ensure that the range to be unwired is
		 * really wired down and that there are no holes.
		 */

		while (entry != NULL && entry->start < end) {
			next = uvm_map_next(map, entry);
			if (entry->wired_count == 0 ||
			    (entry->end < end &&
			     (next == NULL || next->start > entry->end))) {
				vm_map_unlock(map);
				UVMHIST_LOG(maphist, "<- done (INVAL)",0,0,0,0);
				return EINVAL;
			}
			entry = next;
		}

		/*
		 * POSIX 1003.1b - a single munlock call unlocks a region,
		 * regardless of the number of mlock calls made on that
		 * region.
		 */

		entry = start_entry;
		while (entry != NULL && entry->start < end) {
			UVM_MAP_CLIP_END(map, entry, end, NULL);
			if (VM_MAPENT_ISWIRED(entry))
				uvm_map_entry_unwire(map, entry);
			entry = uvm_map_next(map, entry);
		}
		vm_map_unlock(map);
		UVMHIST_LOG(maphist,"<- done (OK UNWIRE)",0,0,0,0);
		return 0;
	}

	/*
	 * wire case: in two passes [XXXCDC: ugly block of code here]
	 *
	 * 1: holding the write lock, we create any anonymous maps that need
	 *    to be created.  then we clip each map entry to the region to
	 *    be wired and increment its wiring count.
	 *
	 * 2: we drop the map lock and call uvm_fault_wire to fault in the
	 *    pages for any newly wired area (wired_count == 1).  (the kernel
	 *    marks the map busy so that no writer changes it meanwhile;
	 *    this machine runs a single LWP and has no busy maps yet.)
	 */

	while (entry != NULL && entry->start < end) {
		if (VM_MAPENT_ISWIRED(entry) == 0) { /* not already wired? */

			/*
			 * perform actions of vm_map_lookup that need the
			 * write lock on the map: create an anonymous map
			 * for a copy-on-write region, or an anonymous map
			 * for a zero-fill region.
			 */

			if (UVM_ET_ISNEEDSCOPY(entry)) {
				amap_copy(map, entry, 0, start, end);
				/* XXXCDC: wait OK? */
			}
		}
		UVM_MAP_CLIP_START(map, entry, start, NULL);
		UVM_MAP_CLIP_END(map, entry, end, NULL);
		entry->wired_count++;

		/*
		 * check for holes
		 */

		next = uvm_map_next(map, entry);
		if (entry->protection == VM_PROT_NONE ||
		    (entry->end < end &&
		     (next == NULL || next->start > entry->end))) {

			/*
			 * found one.  amap creation actions do not need to
			 * be undone, but the wired counts need to be restored.
			 */

			while (entry != NULL && entry->end > start) {
				entry->wired_count--;
				entry = uvm_map_prev(map, entry);
			}
			vm_map_unlock(map);
			UVMHIST_LOG(maphist,"<- done (INVALID WIRE)",0,0,0,0);
			return EINVAL;
		}
		entry = next;
	}

	/*
	 * pass 2.
	 */

	vm_map_unlock(map);

	rv = 0;
	entry = start_entry;
	while (entry != NULL && entry->start < end) {
		if (entry->wired_count == 1) {
			rv = uvm_fault_wire(map, entry->start, entry->end,
			    entry->max_protection);
			if (rv) {

				/*
				 * wiring failed.  break out of the loop.
				 * we'll clean up the map below, once we
				 * have a write lock again.
				 */

				break;
			}
		}
		entry = uvm_map_next(map, entry);
	}

	if (rv) {	/* failed? */

		/*
		 * get back to an exclusive (write) lock.
		 */

		vm_map_lock(map);

		/*
		 * first drop the wiring count on all the entries
		 * which haven't actually been wired yet.
		 */

		failed_entry = entry;
		while (entry != NULL && entry->start < end) {
			entry->wired_count--;
			entry = uvm_map_next(map, entry);
		}

		/*
		 * now, unwire all the entries that were successfully
		 * wired above.
		 */

		entry = start_entry;
		while (entry != failed_entry) {
			entry->wired_count--;
			if (VM_MAPENT_ISWIRED(entry) == 0)
				uvm_map_entry_unwire(map, entry);
			entry = uvm_map_next(map, entry);
		}
		vm_map_unlock(map);
		UVMHIST_LOG(maphist, "<- done (RV=%d)", rv,0,0,0);
		return (rv);
	}

	UVMHIST_LOG(maphist,"<- done (OK WIRE)",0,0,0,0);
	return 0;
}

/*
 * uvm_map_checkprot: check protection in map
 *
 * => must allow specified protection in a fully allocated region.
 * => map must be unlocked (we lock it; the kernel's caller does).
 */

bool
uvm_map_checkprot(struct vm_map *map, vaddr_t start, vaddr_t end,
    vm_prot_t protection)
{
	struct vm_map_entry *entry;
	struct vm_map_entry *tmp_entry;
	bool rv;

	vm_map_lock(map);
	if (!uvm_map_lookup_entry(map, start, &tmp_entry)) {
		rv = false;
		goto out;
	}
	entry = tmp_entry;
	rv = true;
	while (start < end) {
		if (entry == NULL) {
			rv = false;
			break;
		}

		/*
		 * no holes allowed
		 */

		if (start < entry->start) {
			rv = false;
			break;
		}

		/*
		 * check protection associated with entry
		 */

		if ((entry->protection & protection) != protection) {
			rv = false;
			break;
		}
		start = entry->end;
		entry = uvm_map_next(map, entry);
	}
 out:
	vm_map_unlock(map);
	return (rv);
}

/*
 * uvmspace_alloc: allocate a vmspace structure.
 *
 * => its map covers [vmin, vmax) and has a new pmap, whose owner is the
 *    vmspace (the MMU's fault hook finds the map that way) with a small
 *    process id for messages.
 * => the vmspace has a single reference.
 */

struct vmspace *
uvmspace_alloc(vaddr_t vmin, vaddr_t vmax)
{
	struct vmspace *vm;
	UVMHIST_FUNC("uvmspace_alloc"); UVMHIST_CALLED(maphist);

	vm = kmem_zalloc(sizeof(*vm), KM_SLEEP);
	uvm_map_setup(&vm->vm_map, vmin, vmax);
	vm->vm_map.pmap = pmap_create();
	if (uvm_vmspace_count++ == 0)
		uvm_vmspace_lastid = 0;		/* a fresh boot */
	vm->vm_id = ++uvm_vmspace_lastid;
	pmap_set_owner(vm->vm_map.pmap, vm, vm->vm_id);
	vm->vm_refcnt = 1;
	UVMHIST_LOG(maphist,"<- done (vm=%p, id=%d)", vm, vm->vm_id, 0, 0);
	return (vm);
}

/*
 * uvmspace_free: free a vmspace data structure
 *
 * => drops a reference; on the last, every mapping is removed (and the
 *    pages and anons only this address space held are freed), then the
 *    pmap and the vmspace.
 */

void
uvmspace_free(struct vmspace *vm)
{
	struct vm_map *map = &vm->vm_map;
	UVMHIST_FUNC("uvmspace_free"); UVMHIST_CALLED(maphist);

	UVMHIST_LOG(maphist,"(vm=%p) ref=%d", vm, vm->vm_refcnt,0,0);
	KASSERT(vm->vm_refcnt > 0);
	if (--vm->vm_refcnt > 0) {
		return;
	}

	/*
	 * at this point, there should be no other references to the map.
	 * delete all of the mappings and pages they hold, then call
	 * the pmap module to reclaim anything left.
	 */

	if (map->nentries) {
		(void)uvm_unmap(map, map->min_offset, map->max_offset);
	}
	KASSERT(map->nentries == 0);
	KASSERT(map->size == 0);
	pmap_destroy(map->pmap);
	map->pmap = NULL;
	uvm_map_teardown(map);
	KASSERT(uvm_vmspace_count > 0);
	uvm_vmspace_count--;
	kmem_free(vm, sizeof(*vm));
	UVMHIST_LOG(maphist,"<- done", 0,0,0,0);
}

/*
 * uvm_map_reference_amap / uvm_map_unreference_amap: take or drop the
 * reference an entry holds on its amap, for the pages it maps.
 */

static inline void
uvm_map_reference_amap(struct vm_map_entry *entry, int flags)
{

	amap_ref(entry->aref.ar_amap, entry->aref.ar_pageoff,
	    (entry->end - entry->start) >> PAGE_SHIFT, flags);
}

/*
 * uvmspace_fork: fork a process' main map
 *
 * => create a new vmspace for child process from parent.
 * => parent's map must not be locked.
 * => each entry is inherited by its inheritance code:
 *	MAP_INHERIT_NONE: the child does not get it.
 *	MAP_INHERIT_SHARE: parent and child share the amap (the parent
 *	  gets one of its own first if it needs a copy).
 *	MAP_INHERIT_COPY: copy-on-write: the child references the amap
 *	  and both entries need a copy; the parent's mappings are
 *	  write-protected.  a wired parent entry is copied at once
 *	  (amap_cow_now) instead, so the parent takes no faults.
 */

struct vmspace *
uvmspace_fork(struct vmspace *vm1)
{
	struct vmspace *vm2;
	struct vm_map *old_map = &vm1->vm_map;
	struct vm_map *new_map;
	struct vm_map_entry *old_entry;
	struct vm_map_entry *new_entry;
	struct vm_amap *amap;
	bool shared;
	UVMHIST_FUNC("uvmspace_fork"); UVMHIST_CALLED(maphist);

	vm2 = uvmspace_alloc(old_map->min_offset, old_map->max_offset);
	new_map = &vm2->vm_map;
	UVMHIST_LOG(maphist, "  parent vm=%p (id %d), child vm=%p (id %d)",
	    vm1, vm1->vm_id, vm2, vm2->vm_id);

	vm_map_lock(old_map);
	vm_map_lock(new_map);

	/*
	 * go entry-by-entry
	 */

	for (old_entry = uvm_map_first(old_map); old_entry != NULL;
	    old_entry = uvm_map_next(old_map, old_entry)) {

		/* there are no uvm_objects or submaps on this machine */
		KASSERT((old_entry->etype &
		    (UVM_ET_OBJ | UVM_ET_SUBMAP)) == 0);

		switch (old_entry->inheritance) {
		case MAP_INHERIT_NONE:

			/*
			 * drop the mapping
			 */

			break;

		case MAP_INHERIT_SHARE:

			/*
			 * share the mapping: this means we want the old and
			 * new entries to share amaps and backing objects.
			 */

			/*
			 * if the old_entry needs a new amap (due to prev fork)
			 * then we need to allocate it now so that we have
			 * something we own to share with the new_entry.   [in
			 * other words, we need to clear needs_copy]
			 */

			if (UVM_ET_ISNEEDSCOPY(old_entry)) {
				/* get our own amap, clears needs_copy */
				amap_copy(old_map, old_entry, AMAP_COPY_NOCHUNK,
				    0, 0);
				/* XXXCDC: WAITOK??? */
			}
			KASSERT(!UVM_ET_ISNEEDSCOPY(old_entry));
			KASSERT(old_entry->aref.ar_amap != NULL);

			new_entry = uvm_mapent_alloc(new_map, 0);
			/* old_entry -> new_entry */
			uvm_mapent_copy(old_entry, new_entry);

			/* new pmap has nothing wired in it */
			new_entry->wired_count = 0;

			/*
			 * gain reference to the amap, marking it shared
			 */

			if (new_entry->aref.ar_amap)
				uvm_map_reference_amap(new_entry, AMAP_SHARED);

			uvm_map_entry_link(new_map, new_entry);
			UVMHIST_LOG(maphist, "  shared [%#lx, %#lx) amap=%p",
			    new_entry->start, new_entry->end,
			    new_entry->aref.ar_amap, 0);
			break;

		case MAP_INHERIT_COPY:

			/*
			 * copy-on-write the mapping (using mmap's
			 * MAP_PRIVATE semantics)
			 *
			 * allocate new_entry, adjust reference counts.
			 * (note that new references are read-only).
			 */

			new_entry = uvm_mapent_alloc(new_map, 0);
			/* old_entry -> new_entry */
			uvm_mapent_copy(old_entry, new_entry);

			amap = new_entry->aref.ar_amap;
			shared = amap != NULL &&
			    (amap_flags(amap) & AMAP_SHARED) != 0;
			if (amap != NULL)
				uvm_map_reference_amap(new_entry, 0);

			/* new pmap has nothing wired in it */
			new_entry->wired_count = 0;

			new_entry->etype |=
			    (UVM_ET_COPYONWRITE|UVM_ET_NEEDSCOPY);
			uvm_map_entry_link(new_map, new_entry);

			/*
			 * the new entry will need an amap.  it will either
			 * need to be copied from the old entry or created
			 * from scratch (if the old entry does not have an
			 * amap).  can we defer this process until later
			 * (by setting "needs_copy") or do we need to copy
			 * the amap now?
			 *
			 * we must copy the amap now if any of the following
			 * conditions hold:
			 * 1. the old entry has an amap and that amap is
			 *    being shared.  this means that the old (parent)
			 *    process is sharing the amap with another
			 *    process.  if we do not clear needs_copy here
			 *    we will end up in a situation where both the
			 *    parent and child process are refering to the
			 *    same amap with "needs_copy" set.  if the
			 *    parent write-faults, the fault routine will
			 *    clear "needs_copy" in the parent by allocating
			 *    a new amap.   this is wrong because the
			 *    parent is supposed to be sharing the old amap
			 *    and the new amap will break that.
			 *
			 * 2. if the old entry has an amap and a non-zero
			 *    wire count then we are going to have to call
			 *    amap_cow_now to avoid page faults in the
			 *    parent process.   since amap_cow_now requires
			 *    "needs_copy" to be clear we might as well
			 *    clear it here as well.
			 */

			if (amap != NULL &&
			    (shared || VM_MAPENT_ISWIRED(old_entry))) {
				amap_copy(new_map, new_entry,
				    AMAP_COPY_NOCHUNK, 0, 0);
				/* XXXCDC: M_WAITOK ... ok? */
				KASSERT(!UVM_ET_ISNEEDSCOPY(new_entry));
			}

			/*
			 * if the parent's entry is wired down, then the
			 * parent process does not want page faults on
			 * access to that memory.  this means that we
			 * cannot do copy-on-write because we can't write
			 * protect the old entry.   in this case we
			 * resolve all copy-on-write faults now, using
			 * amap_cow_now.   note that we have already
			 * allocated any needed amap (above).
			 */

			if (VM_MAPENT_ISWIRED(old_entry)) {

				/*
				 * resolve all copy-on-write faults now
				 * (note that there is nothing to do if
				 * the old mapping does not have an amap).
				 */

				if (amap != NULL)
					amap_cow_now(new_map, new_entry);

			} else if (amap != NULL &&
			    !UVM_ET_ISNEEDSCOPY(old_entry)) {

				/*
				 * setup mappings to trigger copy-on-write
				 * faults: we must write-protect the parent
				 * if it has an amap and it is not already
				 * "needs_copy"...  if it is already
				 * "needs_copy" then the parent has already
				 * been write-protected by a previous fork
				 * operation.
				 *
				 * a shared amap (case 1 above) is mapped
				 * writable by its other sharers too, and the
				 * child now holds references to its anons:
				 * all those mappings are write-protected
				 * (amap_share_protect), so that a write by
				 * any sharer copies the anon.  the parent
				 * keeps sharing the amap: unlike the kernel,
				 * which sets needs-copy here in that case too
				 * (so that the parent's next write fault
				 * copies the shared amap and the parent
				 * silently stops sharing it), we leave
				 * needs-copy clear.
				 */

				if (old_entry->max_protection &
				    VM_PROT_WRITE) {
					if (shared) {
						amap_lock(amap);
						amap_share_protect(old_entry,
						    old_entry->protection &
						    ~VM_PROT_WRITE);
						amap_unlock(amap);
					} else {
						pmap_protect(old_map->pmap,
						    old_entry->start,
						    old_entry->end,
						    old_entry->protection &
						    ~VM_PROT_WRITE);
					}
				}
				if (!shared)
					old_entry->etype |= UVM_ET_NEEDSCOPY;
			}
			UVMHIST_LOG(maphist, "  copied [%#lx, %#lx) amap=%p "
			    "(parent amap=%p)", new_entry->start,
			    new_entry->end, new_entry->aref.ar_amap, amap);
			break;

		default:
			panic("uvmspace_fork: entry %p [%#lx, %#lx) has "
			    "inheritance %d", old_entry, old_entry->start,
			    old_entry->end, old_entry->inheritance);
		}
	}

	pmap_update(old_map->pmap);
	vm_map_unlock(new_map);
	vm_map_unlock(old_map);

	UVMHIST_LOG(maphist,"<- done", 0, 0, 0, 0);
	return (vm2);
}
