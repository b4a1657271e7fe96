/* kernel option: UVMHIST function-call history (see uvm/uvm_stat.h) */
#define UVMHIST
