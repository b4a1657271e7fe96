/*
 * NetBSD <uvm/uvm.h>: everything UVM's own files use.
 */
#ifndef UVMEMU_UVM_H
#define UVMEMU_UVM_H

#include <sys/types.h>
#include <sys/systm.h>
#include <sys/mutex.h>
#include <sys/lwp.h>
#include <sys/atomic.h>
#include <sys/kmem.h>
#include <sys/pool.h>
#include <uvm/uvm_param.h>
#include <uvm/uvm_stat.h>
#include <uvm/uvm_extern.h>
#include <uvm/uvm_pmap.h>
#include <uvm/uvm_amap.h>
#include <uvm/uvm_anon.h>
#include <uvm/uvm_page.h>
#include <uvm/uvm_map.h>
#include <uvm/uvm_swap.h>
#include <uvm/uvm_fault.h>
#include <uvm/uvm_pdaemon.h>

#endif
