/*
 * NetBSD <uvm/uvm_amap.h> of the revision 1.87 era: anonymous maps.
 */
#ifndef UVMEMU_UVM_AMAP_H
#define UVMEMU_UVM_AMAP_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/mutex.h>
#include <stdbool.h>
#include <uvm/uvm_param.h>

struct vm_anon;
struct vm_map;
struct vm_map_entry;

/* per-page reference counts are on, as in the kernel */
#define UVM_AMAP_PPREF

/* a reference from a map entry to an amap */
struct vm_aref {
	int ar_pageoff;			/* page offset into amap we start */
	struct vm_amap *ar_amap;	/* pointer to amap */
};

/* the array-based amap */
struct vm_amap {
	kmutex_t am_l;		/* lock */
	int am_ref;		/* reference count */
	int am_flags;		/* flags */
	int am_maxslot;		/* max # of slots allocated */
	int am_nslot;		/* # of slots currently in map ( <= maxslot) */
	int am_nused;		/* # of slots currently in use */
	int *am_slots;		/* contig array of active slots */
	int *am_bckptr;		/* back pointer array to am_slots */
	struct vm_anon **am_anon; /* array of anonymous pages */
#ifdef UVM_AMAP_PPREF
	int *am_ppref;		/* per page reference count (if !NULL) */
#endif
	LIST_ENTRY(vm_amap) am_list;
};

/* amap flags */
#define AMAP_SHARED	0x1	/* amap is shared */
#define AMAP_REFALL	0x2	/* amap_ref: reference entire amap */
#define AMAP_SWAPOFF	0x4	/* amap_swap_off() is in progress */

/* amap_copy flags */
#define AMAP_COPY_NOWAIT	0x02	/* not allowed to sleep */
#define AMAP_COPY_NOCHUNK	0x04	/* not allowed to chunk */
#define AMAP_COPY_NOMERGE	0x08	/* not allowed to merge */

/* amap_extend flags */
#define AMAP_EXTEND_BACKWARDS	0x00	/* add "size" to start of map */
#define AMAP_EXTEND_FORWARDS	0x01	/* add "size" to end of map */
#define AMAP_EXTEND_NOWAIT	0x02	/* not allowed to sleep */

#define UVM_AMAP_LARGE	256	/* # of slots in "large" amap */
#define UVM_AMAP_CHUNK	16	/* # of slots to chunk large amaps in */

#define PPREF_NONE ((int *) -1)	/* not using ppref */

#define AMAP_B2SLOT(S,B) {						\
	KASSERT(((B) & (PAGE_SIZE - 1)) == 0);				\
	(S) = (B) >> PAGE_SHIFT;					\
}

#define amap_flags(AMAP)	((AMAP)->am_flags)
#define amap_lock(AMAP)		mutex_enter(&(AMAP)->am_l)
#define amap_lock_try(AMAP)	mutex_tryenter(&(AMAP)->am_l)
#define amap_refs(AMAP)		((AMAP)->am_ref)
#define amap_unlock(AMAP)	mutex_exit(&(AMAP)->am_l)

/* lib/uvm_amap.cc: the port of uvm_amap.c revision 1.87 */
void		amap_add(struct vm_aref *, vaddr_t, struct vm_anon *, bool);
struct vm_amap	*amap_alloc(vaddr_t, vaddr_t, int);
void		amap_copy(struct vm_map *, struct vm_map_entry *, int,
		    vaddr_t, vaddr_t);
void		amap_cow_now(struct vm_map *, struct vm_map_entry *);
int		amap_extend(struct vm_map_entry *, vsize_t, int);
void		amap_free(struct vm_amap *);
struct vm_anon	*amap_lookup(struct vm_aref *, vaddr_t);
void		amap_lookups(struct vm_aref *, vaddr_t, struct vm_anon **,
		    int);
void		amap_ref(struct vm_amap *, vaddr_t, vsize_t, int);
void		amap_share_protect(struct vm_map_entry *, vm_prot_t);
void		amap_splitref(struct vm_aref *, struct vm_aref *, vaddr_t);
void		amap_unadd(struct vm_aref *, vaddr_t);
void		amap_unref(struct vm_amap *, vaddr_t, vsize_t, bool);
void		amap_wipeout(struct vm_amap *);
bool		amap_swap_off(int, int);
void		uvm_amap_init(void);
#ifdef UVM_AMAP_PPREF
void		amap_pp_adjref(struct vm_amap *, int, vsize_t, int);
void		amap_pp_establish(struct vm_amap *, vaddr_t);
void		amap_wiperange(struct vm_amap *, int, int);
#endif

/*
 * lib/uvm_amap_check.cc: consistency checking and ppref decoding, for
 * tests and the debugger (not part of the 1.87 file).
 */
struct amap_pp_run {
	int	pr_slot;	/* first slot of the run */
	int	pr_len;		/* slots in the run (> 0) */
	int	pr_ref;		/* references to each slot of the run */
};

/*
 * amap_check: verify an amap's invariants.  Returns 0, or -1 with a
 * description of the first violation written to why[0..whylen).
 * The amap must be locked or otherwise quiescent.
 */
int	amap_check(const struct vm_amap *, char *why, size_t whylen);

/*
 * amap_pp_decode: decode an established ppref into runs covering
 * [0, am_nslot).  Returns the number of runs (at most maxruns are
 * stored), or -1 if the encoding is malformed or ppref is not
 * established.
 */
int	amap_pp_decode(const struct vm_amap *, struct amap_pp_run *runs,
	    int maxruns);

/* lib/uvm_amap.cc (uvmemu addition): amaps on amap_list */
int		amap_list_count(void);

#endif
