/*
 * uvm_map.cc: address maps and map entries, as far as the amap code
 * needs them.
 *
 * The entry routines of NetBSD's uvm_map.c of the 5.0 era: allocating,
 * linking and looking up entries, and clipping an entry in two (which
 * splits its amap reference with amap_splitref()).  The kernel keeps a
 * map's entries on a sorted list threaded through an RB tree; here they
 * are in a Boost.Intrusive red-black tree (a set ordered by start
 * address) kept in struct vm_map_impl, and link/unlink need no "after"
 * hint.
 *
 * Mapping, unmapping, fork and entry merging are the later issues' work.
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
 * uvm_map_create: create a new, empty map covering [min, max).
 */

struct vm_map *
uvm_map_create(vaddr_t vmin, vaddr_t vmax)
{
	struct vm_map *map;
	struct vm_map_impl *impl;

	KASSERT(vmin < vmax);
	map = kmem_zalloc(sizeof(*map), KM_SLEEP);
	impl = kmem_alloc(sizeof(*impl), KM_SLEEP);
	map->impl = new (impl) vm_map_impl;
	mutex_init(&map->lock, MUTEX_DEFAULT, IPL_NONE);
	map->nentries = 0;
	map->size = 0;
	map->min_offset = vmin;
	map->max_offset = vmax;
	map->flags = 0;
	return map;
}

/*
 * uvm_map_destroy: free an empty map.
 *
 * => all entries must have been unlinked (and their amaps unreferenced)
 *    first.
 */

void
uvm_map_destroy(struct vm_map *map)
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
 * uvm_mapent_trymerge: try to merge an entry with its neighbors.
 *
 * => merging entries (and their amaps) is issue 3's work: for now no
 *    entry is ever merged, which the callers (amap_copy) must and do
 *    handle, as merging can always fail in the kernel.
 * => returns the merged entry, or NULL if nothing was merged.
 */

struct vm_map_entry *
uvm_mapent_trymerge(struct vm_map *map, struct vm_map_entry *entry,
    int flags)
{

	(void)map;
	(void)entry;
	(void)flags;
	return NULL;
}
