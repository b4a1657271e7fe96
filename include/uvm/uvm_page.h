/*
 * NetBSD <uvm/uvm_page.h>: the physical page structure and page queues.
 *
 * One struct vm_page per frame of the emulated physical arena
 * (emu/arena.cc).  The free list and the paging queues are
 * Boost.Intrusive lists threaded through pageq.
 */
#ifndef UVMEMU_UVM_PAGE_H
#define UVMEMU_UVM_PAGE_H

#include <sys/types.h>
#include <sys/mutex.h>
#include <boost/intrusive/list_hook.hpp>

struct vm_anon;
struct uvm_object;

struct vm_page {
	boost::intrusive::list_member_hook<
	    boost::intrusive::link_mode<boost::intrusive::safe_link>> pageq;
	struct vm_anon	*uanon;		/* anon (O,P) */
	struct uvm_object *uobject;	/* object (O,P) */
	voff_t		offset;		/* offset into object (O,P) */
	uint16_t	flags;		/* object flags [O] */
	uint16_t	pqflags;	/* queue flags [P] */
	int		loan_count;	/* number of active loans [O,P] */
	int		wire_count;	/* wired down map refs [P] */
	paddr_t		phys_addr;	/* physical address of page */
	const char	*owner_tag;	/* UVM_PAGE_OWN tag, if busy */
	int		owner_lid;	/* LWP that set owner_tag */
};

/* flags */
#define PG_BUSY		0x0001	/* page is locked */
#define PG_WANTED	0x0002	/* someone is waiting for page */
#define PG_TABLED	0x0004	/* page is in VP table */
#define PG_CLEAN	0x0008	/* page has not been modified */
#define PG_PAGEOUT	0x0010	/* page to be freed for pagedaemon */
#define PG_RELEASED	0x0020	/* page to be freed when unbusied */
#define PG_FAKE		0x0040	/* page is not yet initialized */
#define PG_RDONLY	0x0080	/* page must be mapped read-only */
#define PG_ZERO		0x0100	/* page is pre-zero'd */

/* pqflags */
#define PQ_FREE		0x0001	/* page is on free list */
#define PQ_INACTIVE	0x0002	/* page is in inactive list */
#define PQ_ACTIVE	0x0004	/* page is in active list */
#define PQ_ANON		0x0010	/* page is part of an anon */
#define PQ_SWAPBACKED	PQ_ANON

/* uvm_pagealloc flags */
#define UVM_PGA_USERESERVE	0x0001
#define UVM_PGA_ZERO		0x0002

extern kmutex_t uvm_pageqlock;	/* lock for active/inactive page q */

/*
 * wait channels: uvm_wait() sleeps on &uvmexp.free, which uvm_pagefree()
 * wakes; the page daemon sleeps on &uvm_pagedaemon_wchan, which
 * uvm_wait() wakes.
 */
extern int uvm_pagedaemon_wchan;
extern kmutex_t uvm_fpageqlock;	/* the free list (uvm_page.cc) */

/* lib/uvm_page.cc */
void		uvm_page_init(size_t);		/* boot: npages of RAM */
void		uvm_page_shutdown(void);	/* all pages must be free */
struct vm_page	*uvm_pagealloc(struct uvm_object *, voff_t, struct vm_anon *,
		    int);
void		uvm_pagefree(struct vm_page *);
void		uvm_pagecopy(struct vm_page *, struct vm_page *);
void		uvm_pagezero(struct vm_page *);
void		uvm_pageactivate(struct vm_page *);
void		uvm_pagedeactivate(struct vm_page *);
void		uvm_pagedequeue(struct vm_page *);
void		uvm_page_own(struct vm_page *, const char *);
void		*uvm_pagedata(struct vm_page *);	/* direct map */
struct vm_page	*uvm_pagebyphys(paddr_t);
void		uvm_pagewire(struct vm_page *);
void		uvm_pageunwire(struct vm_page *);
/* the page daemon's walk of a paging queue (PQ_ACTIVE, PQ_INACTIVE) */
struct vm_page	*uvm_pageq_first(int);
struct vm_page	*uvm_pageq_next(struct vm_page *);

#define UVM_PAGE_OWN(PG, TAG)	uvm_page_own((PG), (TAG))
#define VM_PAGE_TO_PHYS(pg)	((pg)->phys_addr)

#endif
