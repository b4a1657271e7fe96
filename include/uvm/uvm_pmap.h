/*
 * NetBSD <uvm/uvm_pmap.h>: the machine-dependent layer.
 *
 * Until the software MMU exists (issue 3) no page is ever mapped, so
 * pmap_page_protect() has no mapping to change; it records each call
 * (emu/pmap_log.cc) so tests can check which pages the kernel protected.
 */
#ifndef UVMEMU_UVM_PMAP_H
#define UVMEMU_UVM_PMAP_H

#include <uvm/uvm_param.h>

struct vm_page;

void	pmap_page_protect(struct vm_page *, vm_prot_t);
void	pmap_update(void *);

#endif
