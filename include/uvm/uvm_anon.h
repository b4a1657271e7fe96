/*
 * NetBSD <uvm/uvm_anon.h> of the 1.87 era: anonymous pages.
 */
#ifndef UVMEMU_UVM_ANON_H
#define UVMEMU_UVM_ANON_H

#include <sys/types.h>
#include <sys/mutex.h>
#include <stdbool.h>

struct vm_page;

struct vm_anon {
	kmutex_t an_lock;	/* lock for an_ref */
	int an_ref;		/* reference count [an_lock] */
	struct vm_page *an_page;/* if in RAM [an_lock] */
	int an_swslot;		/* drum swap slot # (if != 0) [an_lock] */
};

/* lib/uvm_anon.cc */
void		uvm_anon_init(void);
struct vm_anon	*uvm_analloc(void);	/* locked, an_ref 1; NULL if none */
void		uvm_anfree(struct vm_anon *);	/* unlocked, an_ref 0 */
bool		uvm_anon_pagein(struct vm_anon *);	/* locked; unlocks */
void		uvm_anon_dropswap(struct vm_anon *);
long		uvm_anon_count(void);	/* anons outstanding */

#endif
