/*
 * NetBSD <uvm/uvm_map.h>: address maps and map entries.
 *
 * Entries are kept sorted by start address in a Boost.Intrusive
 * red-black tree, as the kernel keeps them in its RB tree.
 */
#ifndef UVMEMU_UVM_MAP_H
#define UVMEMU_UVM_MAP_H

#include <sys/types.h>
#include <sys/mutex.h>
#include <boost/intrusive/set_hook.hpp>
#include <uvm/uvm_param.h>
#include <uvm/uvm_amap.h>

struct vm_map_entry {
	boost::intrusive::set_member_hook<
	    boost::intrusive::link_mode<boost::intrusive::safe_link>> rb_entry;
	vaddr_t			start;		/* start address */
	vaddr_t			end;		/* end address */
	struct vm_aref		aref;		/* anonymous overlay */
	int			etype;		/* entry type */
	vm_prot_t		protection;	/* protection code */
	vm_prot_t		max_protection;	/* maximum protection */
	vm_inherit_t		inheritance;	/* inheritance */
	int			wired_count;	/* can be paged if == 0 */
	int			advice;		/* madvise advice */
	int			flags;
};

/* etype */
#define UVM_ET_OBJ		0x01	/* it is a uvm_object */
#define UVM_ET_SUBMAP		0x02	/* it is a vm_map submap */
#define UVM_ET_COPYONWRITE	0x04	/* copy_on_write */
#define UVM_ET_NEEDSCOPY	0x08	/* needs_copy */

#define UVM_ET_ISCOPYONWRITE(E)	(((E)->etype & UVM_ET_COPYONWRITE) != 0)
#define UVM_ET_ISNEEDSCOPY(E)	(((E)->etype & UVM_ET_NEEDSCOPY) != 0)

#define VM_MAPENT_ISWIRED(entry)	((entry)->wired_count != 0)

struct vm_map_impl;	/* the entry tree (lib/uvm_map.cc) */
struct uvm_mapent_reservation;

struct pmap;

struct vm_map {
	struct vm_map_impl	*impl;		/* sorted entries */
	struct pmap		*pmap;		/* physical map (NULL: none) */
	kmutex_t		lock;		/* map lock */
	int			nentries;	/* # entries */
	vsize_t			size;		/* virtual size */
	vaddr_t			min_offset;	/* lowest address */
	vaddr_t			max_offset;	/* highest address */
	int			flags;
};

extern struct vm_map *kernel_map;

/* an address space: a map and its pmap (lib/uvm_map.cc) */
struct vmspace {
	struct vm_map	vm_map;		/* VM address map */
	int		vm_refcnt;	/* number of references */
	int		vm_id;		/* emulated process id, for messages */
};

/* uvm_map_anon flags (uvm/uvm_extern.h has UVM_FLAG_NOWAIT) */
#define UVM_FLAG_FIXED		0x010000	/* find no space, use this va */
#define UVM_FLAG_NOMERGE	0x040000	/* don't merge map entries */
#define UVM_FLAG_SHAREDANON	0x100000	/* anon memory shared on fork */

struct vmspace	*uvmspace_alloc(vaddr_t, vaddr_t);
struct vmspace	*uvmspace_fork(struct vmspace *);
void		uvmspace_free(struct vmspace *);
int		uvm_map_anon(struct vm_map *, vaddr_t *, vsize_t, vm_prot_t,
		    vm_prot_t, vm_inherit_t, int);
int		uvm_unmap(struct vm_map *, vaddr_t, vaddr_t);
int		uvm_map_protect(struct vm_map *, vaddr_t, vaddr_t, vm_prot_t,
		    bool);
int		uvm_map_inherit(struct vm_map *, vaddr_t, vaddr_t,
		    vm_inherit_t);
int		uvm_map_pageable(struct vm_map *, vaddr_t, vaddr_t, bool);
bool		uvm_map_checkprot(struct vm_map *, vaddr_t, vaddr_t,
		    vm_prot_t);

/* lib/uvm_map.cc */
struct vm_map	*uvm_map_create(vaddr_t, vaddr_t);
void		uvm_map_destroy(struct vm_map *);
struct vm_map_entry *uvm_mapent_alloc(struct vm_map *, int);
void		uvm_mapent_free(struct vm_map_entry *);
void		uvm_map_entry_link(struct vm_map *, struct vm_map_entry *);
void		uvm_map_entry_unlink(struct vm_map *, struct vm_map_entry *);
struct vm_map_entry *uvm_map_first(struct vm_map *);
struct vm_map_entry *uvm_map_next(struct vm_map *, struct vm_map_entry *);
bool		uvm_map_lookup_entry(struct vm_map *, vaddr_t,
		    struct vm_map_entry **);
void		uvm_map_clip_start(struct vm_map *, struct vm_map_entry *,
		    vaddr_t, struct uvm_mapent_reservation *);
void		uvm_map_clip_end(struct vm_map *, struct vm_map_entry *,
		    vaddr_t, struct uvm_mapent_reservation *);
struct vm_map_entry *uvm_mapent_trymerge(struct vm_map *,
		    struct vm_map_entry *, int);

#define UVM_MAP_CLIP_START(MAP,ENTRY,VA,UMR) {				\
	if ((VA) > (ENTRY)->start && (VA) < (ENTRY)->end) {		\
		uvm_map_clip_start(MAP,ENTRY,VA,UMR);			\
	}								\
}

#define UVM_MAP_CLIP_END(MAP,ENTRY,VA,UMR) {				\
	if ((VA) > (ENTRY)->start && (VA) < (ENTRY)->end) {		\
		uvm_map_clip_end(MAP,ENTRY,VA,UMR);			\
	}								\
}

#endif
