// Text pictures of amaps and anons.
#include "uvmemu/describe.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "uvm/uvm.h"

namespace uvmemu {

std::string AmapFlagsToString(int flags) {
  std::vector<std::string> names;
  if (flags & AMAP_SHARED) names.push_back("SHARED");
  if (flags & AMAP_REFALL) names.push_back("REFALL");
  if (flags & AMAP_SWAPOFF) names.push_back("SWAPOFF");
  const int known = AMAP_SHARED | AMAP_REFALL | AMAP_SWAPOFF;
  if (flags & ~known) names.push_back(absl::StrFormat("0x%x", flags & ~known));
  return names.empty() ? "none" : absl::StrJoin(names, "|");
}

std::string DescribePpref(const vm_amap* amap) {
  if (amap->am_ppref == nullptr) return "none";
  if (amap->am_ppref == PPREF_NONE) return "PPREF_NONE";
  const int n = amap_pp_decode(amap, nullptr, 0);
  if (n < 0) return "malformed";
  std::vector<amap_pp_run> runs(n);
  amap_pp_decode(amap, runs.data(), n);
  return absl::StrJoin(runs, ", ", [](std::string* out, const amap_pp_run& r) {
    absl::StrAppendFormat(out, "[%d,%d) ref %d", r.pr_slot, r.pr_slot + r.pr_len,
                          r.pr_ref);
  });
}

std::string DescribeAnon(const vm_anon* anon) {
  std::string page = anon->an_page == nullptr
                         ? "no page"
                         : absl::StrFormat("page pa 0x%x", anon->an_page->phys_addr);
  std::string swap = anon->an_swslot == 0
                         ? "no swap"
                         : absl::StrFormat("swap slot %d", anon->an_swslot);
  return absl::StrFormat("anon ref %d, %s, %s", anon->an_ref, page, swap);
}

std::string DescribeAmap(const vm_amap* amap) {
  std::string out = absl::StrFormat(
      "amap %p: ref %d, flags %s, nslot %d, maxslot %d, nused %d\n",
      static_cast<const void*>(amap), amap->am_ref,
      AmapFlagsToString(amap->am_flags), amap->am_nslot, amap->am_maxslot,
      amap->am_nused);
  for (int slot = 0; slot < amap->am_nslot; slot++) {
    const vm_anon* anon = amap->am_anon[slot];
    if (anon == nullptr) continue;
    absl::StrAppendFormat(&out, "  slot %3d: %s\n", slot, DescribeAnon(anon));
  }
  absl::StrAppend(&out, "  ppref: ", DescribePpref(amap), "\n");
  return out;
}

}  // namespace uvmemu
