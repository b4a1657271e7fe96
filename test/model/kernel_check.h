// Invariants of the emulated kernel's structures as a whole, independent
// of any model: what must hold after every operation whatever the
// operations were (docs/verification.md lists them).
//
// The amaps and anons are enumerated by what is reachable from the live
// address spaces; the kernel's own totals (amap_list_count,
// uvm_anon_count, the page and kmem statistics) must equal what is
// reachable, so anything unreachable is a leak.
#ifndef UVMEMU_TEST_MODEL_KERNEL_CHECK_H
#define UVMEMU_TEST_MODEL_KERNEL_CHECK_H

#include <cstddef>
#include <map>
#include <set>
#include <vector>

#include "absl/status/status.h"

struct vmspace;
struct vm_amap;
struct vm_anon;
struct vm_page;

namespace uvmemu::verify {

// What the live address spaces reach.
struct Census {
  std::vector<vm_amap*> amaps;         // distinct, in order of discovery
  std::map<vm_amap*, int> entry_refs;  // map entries referencing each amap
  std::map<vm_anon*, int> slot_refs;   // amap slots referring to each anon
  std::set<vm_page*> pages;            // resident pages of those anons
  long entries = 0;
  long swap_slots = 0;  // anons with a swap slot
};

Census TakeCensus(const std::vector<vmspace*>& spaces);

// The kmem blocks and bytes an amap holds (its slot arrays and ppref).
long AmapKmemObjects(const vm_amap* amap);
long AmapKmemBytes(const vm_amap* amap);

// Checks, in order: every entry's amap reference lies inside the amap;
// amap_check of every amap; am_ref equals the entries referencing it;
// each anon's an_ref equals the slots referring to it; established ppref
// runs equal, slot by slot, the number of entries covering the slot, and
// no slot that no entry covers holds an anon; pmap mappings agree with
// the amaps (the page mapped is the slot's anon's page, a writable
// mapping is never of an anon shared copy-on-write, never beyond the
// entry's protection); wired entries map resident pages whose wirings
// add up; and the kernel's totals equal what is reachable.
//
// `process_kmem_objects` and `process_kmem_bytes` are what one address
// space with no entries holds in kmem (measured by the caller).
absl::Status CheckKernel(const std::vector<vmspace*>& spaces,
                         long process_kmem_objects, long process_kmem_bytes);

}  // namespace uvmemu::verify

#endif  // UVMEMU_TEST_MODEL_KERNEL_CHECK_H
