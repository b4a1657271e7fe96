// Memory and paging counters of the emulated machine: a snapshot of the
// kernel's uvmexp (NetBSD's names in the comments).
#ifndef UVMEMU_MEMORY_STATS_H
#define UVMEMU_MEMORY_STATS_H

namespace uvmemu {

struct MemoryStats {
  // Physical pages.
  int pages = 0;        // npages
  int free = 0;         // free
  int active = 0;       // active
  int inactive = 0;     // inactive
  int wired = 0;        // wired
  int anon_pages = 0;   // anonpages
  int free_min = 0;     // freemin: the page daemon runs below this
  int free_target = 0;  // freetarg: and frees up to this

  // Swap slots.
  int swap_slots = 0;      // swpages: slots that are on
  int swap_available = 0;  // swpgavail: slots page-out may allocate
  int swap_in_use = 0;     // swpginuse: slots allocated
  int swap_only = 0;       // swpgonly: slots whose page is not in memory

  // Events since boot.
  int page_ins = 0;            // pgswapin: pages read back from swap
  int page_outs = 0;           // pgswapout: pages written to swap
  int daemon_runs = 0;         // pdwoke
  int daemon_freed = 0;        // pdfreed: pages freed (written or clean)
  int daemon_scanned = 0;      // pdscans: inactive pages looked at
  int daemon_reactivated = 0;  // pdreact: referenced, given a 2nd chance
  int daemon_deactivated = 0;  // pddeact: moved to the inactive queue
  int daemon_busy = 0;         // pdbusy: busy pages skipped
  int fault_no_ram = 0;        // fltnoram: page-ins that found no memory
};

}  // namespace uvmemu

#endif  // UVMEMU_MEMORY_STATS_H
