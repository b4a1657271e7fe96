#include "test/model/kernel_check.h"

#include <vector>

#include "absl/strings/str_format.h"
#include "emu/kmem_stats.h"
#include "emu/mmu.h"
#include "uvm/uvm.h"
#include "uvmemu/kernel.h"

namespace uvmemu::verify {
namespace {

bool PprefEstablished(const vm_amap* amap) {
  return amap->am_ppref != nullptr && amap->am_ppref != PPREF_NONE;
}

int EntryPages(const vm_map_entry* e) {
  return static_cast<int>((e->end - e->start) >> PAGE_SHIFT);
}

std::string Where(const vmspace* vm, const vm_map_entry* e) {
  return absl::StrFormat("process %d entry [0x%x, 0x%x)", vm->vm_id, e->start,
                         e->end);
}

}  // namespace

long AmapKmemObjects(const vm_amap* amap) {
  return 3 + (PprefEstablished(amap) ? 1 : 0);
}

long AmapKmemBytes(const vm_amap* amap) {
  const long slots = amap->am_maxslot;
  long bytes = slots * static_cast<long>(2 * sizeof(int) + sizeof(vm_anon*));
  if (PprefEstablished(amap)) bytes += slots * static_cast<long>(sizeof(int));
  return bytes;
}

Census TakeCensus(const std::vector<vmspace*>& spaces) {
  Census c;
  for (vmspace* vm : spaces) {
    vm_map* map = &vm->vm_map;
    for (vm_map_entry* e = uvm_map_first(map); e != nullptr;
         e = uvm_map_next(map, e)) {
      c.entries++;
      vm_amap* amap = e->aref.ar_amap;
      if (amap == nullptr) continue;
      if (c.entry_refs[amap]++ == 0) c.amaps.push_back(amap);
    }
  }
  for (vm_amap* amap : c.amaps) {
    for (int slot = 0; slot < amap->am_nslot; slot++) {
      vm_anon* anon = amap->am_anon[slot];
      if (anon == nullptr) continue;
      if (c.slot_refs[anon]++ == 0) {
        if (anon->an_page != nullptr) c.pages.insert(anon->an_page);
        if (anon->an_swslot != 0) c.swap_slots++;
      }
    }
  }
  return c;
}

absl::Status CheckKernel(const std::vector<vmspace*>& spaces,
                         long process_kmem_objects, long process_kmem_bytes) {
  // Entries: references inside their amaps.
  for (vmspace* vm : spaces) {
    vm_map* map = &vm->vm_map;
    for (vm_map_entry* e = uvm_map_first(map); e != nullptr;
         e = uvm_map_next(map, e)) {
      const vm_amap* amap = e->aref.ar_amap;
      if (amap == nullptr) continue;
      if (e->aref.ar_pageoff < 0 ||
          e->aref.ar_pageoff + EntryPages(e) > amap->am_nslot)
        return absl::InternalError(absl::StrFormat(
            "%s maps slots [%d, %d) of an amap of %d slots", Where(vm, e),
            e->aref.ar_pageoff, e->aref.ar_pageoff + EntryPages(e),
            amap->am_nslot));
    }
  }

  const Census c = TakeCensus(spaces);
  char why[256];
  for (vm_amap* amap : c.amaps) {
    if (amap_check(amap, why, sizeof(why)) != 0)
      return absl::InternalError(
          absl::StrFormat("amap %p: amap_check: %s", amap, why));
    if (amap->am_ref != c.entry_refs.at(amap))
      return absl::InternalError(
          absl::StrFormat("amap %p: am_ref %d but %d entries refer to it", amap,
                          amap->am_ref, c.entry_refs.at(amap)));
  }
  for (const auto& [anon, refs] : c.slot_refs) {
    if (anon->an_ref != refs)
      return absl::InternalError(
          absl::StrFormat("anon %p: an_ref %d but %d amap slots refer to it",
                          anon, anon->an_ref, refs));
  }

  // Per-slot coverage by entries, against ppref.
  std::map<vm_amap*, std::vector<int>> cover;
  for (vm_amap* amap : c.amaps) cover[amap].assign(amap->am_nslot, 0);
  for (vmspace* vm : spaces) {
    vm_map* map = &vm->vm_map;
    for (vm_map_entry* e = uvm_map_first(map); e != nullptr;
         e = uvm_map_next(map, e)) {
      if (e->aref.ar_amap == nullptr) continue;
      std::vector<int>& cv = cover[e->aref.ar_amap];
      for (int i = 0; i < EntryPages(e); i++) cv[e->aref.ar_pageoff + i]++;
    }
  }
  for (vm_amap* amap : c.amaps) {
    const std::vector<int>& cv = cover[amap];
    if (PprefEstablished(amap)) {
      const int n = amap_pp_decode(amap, nullptr, 0);
      std::vector<amap_pp_run> runs(n);
      amap_pp_decode(amap, runs.data(), n);
      for (const amap_pp_run& r : runs)
        for (int s = r.pr_slot; s < r.pr_slot + r.pr_len; s++)
          if (cv[s] != r.pr_ref)
            return absl::InternalError(absl::StrFormat(
                "amap %p slot %d: ppref says %d references, %d entries "
                "cover it",
                amap, s, r.pr_ref, cv[s]));
    }
    // Without per-page counts (PPREF_NONE) a partial unmap cannot free
    // anons: they stay until the amap goes (docs/known-defects.md).
    if (amap->am_ppref == PPREF_NONE) continue;
    for (int s = 0; s < amap->am_nslot; s++)
      if (amap->am_anon[s] != nullptr && cv[s] == 0)
        return absl::InternalError(absl::StrFormat(
            "amap %p slot %d holds anon %p but no entry maps it", amap, s,
            amap->am_anon[s]));
  }

  // The pmaps against the amaps, and the wirings.
  long mapped = 0, wired_entry_pages = 0;
  for (vmspace* vm : spaces) {
    vm_map* map = &vm->vm_map;
    for (vm_map_entry* e = uvm_map_first(map); e != nullptr;
         e = uvm_map_next(map, e)) {
      const vm_amap* amap = e->aref.ar_amap;
      for (int i = 0; i < EntryPages(e); i++) {
        const vaddr_t va = e->start + (static_cast<vaddr_t>(i) << PAGE_SHIFT);
        const vm_anon* anon =
            amap != nullptr ? amap->am_anon[e->aref.ar_pageoff + i] : nullptr;
        const vm_page* pg = mmu::MappedPage(map->pmap, va);
        if (e->wired_count > 0) {
          wired_entry_pages++;
          if (anon == nullptr || anon->an_page == nullptr ||
              anon->an_page->wire_count == 0)
            return absl::InternalError(absl::StrFormat(
                "%s is wired but va 0x%x has no wired resident page",
                Where(vm, e), va));
        }
        if (pg == nullptr) continue;
        mapped++;
        if (anon == nullptr || anon->an_page != pg)
          return absl::InternalError(absl::StrFormat(
              "%s: va 0x%x maps page %p, the amap slot has %s", Where(vm, e),
              va, pg, anon == nullptr ? "no anon" : "another page"));
        const int prot = mmu::HostProtection(map->pmap, va);
        if (prot & ~e->protection)
          return absl::InternalError(absl::StrFormat(
              "%s: va 0x%x mapped with protection %d beyond the entry's %d",
              Where(vm, e), va, prot, e->protection));
        if ((prot & VM_PROT_WRITE) &&
            (anon->an_ref != 1 || UVM_ET_ISNEEDSCOPY(e)))
          return absl::InternalError(absl::StrFormat(
              "%s: va 0x%x is writable but its anon has an_ref %d%s",
              Where(vm, e), va, anon->an_ref,
              UVM_ET_ISNEEDSCOPY(e) ? " and the entry needs a copy" : ""));
      }
    }
  }
  long mappings = 0, page_wirings = 0, wired_pages = 0;
  for (const vm_page* pg : c.pages) {
    mappings += static_cast<long>(mmu::MappingCount(pg));
    page_wirings += pg->wire_count;
    if (pg->wire_count > 0) wired_pages++;
  }
  if (mappings != mapped ||
      static_cast<long>(mmu::GetStats().mappings) != mapped)
    return absl::InternalError(absl::StrFormat(
        "%d pages mapped in the entries' ranges, the pages' pv lists hold "
        "%d, the MMU counts %d",
        mapped, mappings, mmu::GetStats().mappings));
  if (page_wirings != wired_entry_pages || uvmexp.wired != wired_pages)
    return absl::InternalError(absl::StrFormat(
        "%d wired entry pages, the pages' wire counts add up to %d; "
        "uvmexp.wired %d, %d pages wired",
        wired_entry_pages, page_wirings, uvmexp.wired, wired_pages));

  // The kernel's totals against what is reachable.
  const ResourceCounts counts = Kernel::Counts();
  long amap_objects = 0, amap_bytes = 0;
  for (const vm_amap* amap : c.amaps) {
    amap_objects += AmapKmemObjects(amap);
    amap_bytes += AmapKmemBytes(amap);
  }
  const long procs = static_cast<long>(spaces.size());
  const long want_objects =
      procs * process_kmem_objects + c.entries + amap_objects;
  const long want_bytes = procs * process_kmem_bytes +
                          c.entries * static_cast<long>(sizeof(vm_map_entry)) +
                          amap_bytes;
  const long anons = static_cast<long>(c.slot_refs.size());
  const long amaps = static_cast<long>(c.amaps.size());
  const long pages = static_cast<long>(c.pages.size());
  if (counts.amaps != amaps || counts.anons != anons ||
      counts.pages_in_use != pages || counts.swap_slots != c.swap_slots ||
      counts.pool_objects != amaps + anons ||
      counts.kmem_objects != want_objects || counts.kmem_bytes != want_bytes)
    return absl::InternalError(absl::StrFormat(
        "kernel totals differ from what is reachable: amaps %d/%d, anons "
        "%d/%d, pages %d/%d, swap slots %d/%d, pool objects %d/%d, kmem "
        "objects %d/%d, kmem bytes %d/%d (kernel/reachable)",
        counts.amaps, amaps, counts.anons, anons, counts.pages_in_use, pages,
        counts.swap_slots, c.swap_slots, counts.pool_objects, amaps + anons,
        counts.kmem_objects, want_objects, counts.kmem_bytes, want_bytes));
  return absl::OkStatus();
}

}  // namespace uvmemu::verify
