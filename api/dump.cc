// Process::Dump: process -> entries -> amap (slots, ppref) -> anons ->
// pages (frame, mappings).
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "emu/mmu.h"
#include "uvm/uvm.h"
#include "uvmemu/describe.h"
#include "uvmemu/process.h"

namespace uvmemu {
namespace {

std::string ProtToString(vm_prot_t prot) {
  return absl::StrCat((prot & VM_PROT_READ) ? "r" : "-",
                      (prot & VM_PROT_WRITE) ? "w" : "-",
                      (prot & VM_PROT_EXECUTE) ? "x" : "-");
}

const char* InheritToString(vm_inherit_t inherit) {
  switch (inherit) {
    case MAP_INHERIT_SHARE: return "share";
    case MAP_INHERIT_COPY: return "copy";
    case MAP_INHERIT_NONE: return "none";
    default: return "?";
  }
}

std::string EtypeToString(int etype) {
  std::vector<std::string> names;
  if (etype & UVM_ET_OBJ) names.push_back("OBJ");
  if (etype & UVM_ET_SUBMAP) names.push_back("SUBMAP");
  if (etype & UVM_ET_COPYONWRITE) names.push_back("COW");
  if (etype & UVM_ET_NEEDSCOPY) names.push_back("NEEDSCOPY");
  return names.empty() ? "-" : absl::StrJoin(names, "|");
}

}  // namespace

std::string Process::Dump() const {
  if (vm_ == nullptr) return absl::StrFormat("process %d: exited\n", pid_);
  vm_map* map = &vm_->vm_map;
  std::string out = absl::StrFormat("process %d: %d entries, %d bytes mapped\n",
                                    pid_, map->nentries, map->size);
  for (vm_map_entry* e = uvm_map_first(map); e != nullptr;
       e = uvm_map_next(map, e)) {
    absl::StrAppendFormat(
        &out, "  [0x%x, 0x%x) %s/%s inherit %s %s wired %d", e->start, e->end,
        ProtToString(e->protection), ProtToString(e->max_protection),
        InheritToString(e->inheritance), EtypeToString(e->etype),
        e->wired_count);
    vm_amap* amap = e->aref.ar_amap;
    if (amap == nullptr) {
      absl::StrAppend(&out, ", no amap\n");
      continue;
    }
    absl::StrAppendFormat(&out, ", amap %p + %d slots\n",
                          static_cast<void*>(amap), e->aref.ar_pageoff);
    absl::StrAppendFormat(&out, "    amap: ref %d, flags %s, nslot %d, "
                                "nused %d, ppref %s\n",
                          amap->am_ref, AmapFlagsToString(amap->am_flags),
                          amap->am_nslot, amap->am_nused, DescribePpref(amap));
    const int npages = static_cast<int>((e->end - e->start) >> PAGE_SHIFT);
    for (int i = 0; i < npages; i++) {
      const int slot = e->aref.ar_pageoff + i;
      const vm_anon* anon = amap->am_anon[slot];
      if (anon == nullptr) continue;
      absl::StrAppendFormat(&out, "    va 0x%x slot %d: anon %p %s",
                            e->start + (static_cast<vaddr_t>(i) << PAGE_SHIFT),
                            slot, static_cast<const void*>(anon),
                            DescribeAnon(anon));
      if (anon->an_page != nullptr)
        absl::StrAppendFormat(&out, ", %d mappings",
                              mmu::MappingCount(anon->an_page));
      absl::StrAppend(&out, "\n");
    }
  }
  return out;
}

}  // namespace uvmemu
