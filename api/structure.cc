// StructureText / StructureDot: one walk of the processes' maps builds a
// small model (every amap, anon and page once, with who refers to it),
// and both pictures are rendered from it.
#include "uvmemu/structure.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "emu/mmu.h"
#include "uvm/uvm.h"
#include "uvmemu/describe.h"

namespace uvmemu {
namespace {

std::string ProtName(vm_prot_t prot) {
  return absl::StrCat((prot & VM_PROT_READ) ? "r" : "-",
                      (prot & VM_PROT_WRITE) ? "w" : "-",
                      (prot & VM_PROT_EXECUTE) ? "x" : "-");
}

const char* InheritName(vm_inherit_t inherit) {
  switch (inherit) {
    case MAP_INHERIT_SHARE:
      return "share";
    case MAP_INHERIT_COPY:
      return "copy";
    case MAP_INHERIT_NONE:
      return "none";
    default:
      return "?";
  }
}

std::string Flags(int value,
                  std::initializer_list<std::pair<int, const char*>> bits,
                  const char* none) {
  std::vector<std::string> names;
  int known = 0;
  for (const auto& [bit, name] : bits) {
    known |= bit;
    if (value & bit) names.push_back(name);
  }
  if (value & ~known) names.push_back(absl::StrFormat("0x%x", value & ~known));
  return names.empty() ? none : absl::StrJoin(names, "|");
}

std::string Etype(int etype) {
  return Flags(etype,
               {{UVM_ET_OBJ, "OBJ"},
                {UVM_ET_SUBMAP, "SUBMAP"},
                {UVM_ET_COPYONWRITE, "COW"},
                {UVM_ET_NEEDSCOPY, "NEEDSCOPY"}},
               "-");
}

std::string PageFlags(int flags) {
  return Flags(flags,
               {{PG_BUSY, "BUSY"},
                {PG_WANTED, "WANTED"},
                {PG_TABLED, "TABLED"},
                {PG_CLEAN, "CLEAN"},
                {PG_PAGEOUT, "PAGEOUT"},
                {PG_RELEASED, "RELEASED"},
                {PG_FAKE, "FAKE"},
                {PG_RDONLY, "RDONLY"},
                {PG_ZERO, "ZERO"}},
               "-");
}

std::string PqFlags(int flags) {
  return Flags(flags,
               {{PQ_FREE, "FREE"},
                {PQ_INACTIVE, "INACTIVE"},
                {PQ_ACTIVE, "ACTIVE"},
                {PQ_ANON, "ANON"}},
               "-");
}

struct Entry {
  std::string name;
  vaddr_t start, end;
  vm_prot_t prot, max_prot;
  vm_inherit_t inherit;
  int etype, wired;
  int amap = -1;  // index into Model::amaps
  int pageoff = 0;
};

struct Proc {
  std::string label;
  std::string map;  // the vm_map's name
  int pid;
  bool exited;
  int nentries = 0;
  vsize_t size = 0;
  std::vector<Entry> entries;
};

struct Ref {
  std::string from;       // "P [0x1000, 0x5000)" or "amap#1 slot 3"
  std::string edge_from;  // DOT node
  std::string edge_label;
};

struct Amap {
  std::string name;
  const vm_amap* a;
  std::vector<std::pair<int, int>> slots;  // slot -> anon index
  std::vector<Ref> refs;
};

struct Anon {
  std::string name;
  const vm_anon* a;
  int page = -1;
  std::vector<Ref> refs;
};

struct Page {
  std::string name;
  const vm_page* pg;
  size_t mappings;
};

struct Model {
  std::vector<Proc> procs;
  std::vector<Amap> amaps;
  std::vector<Anon> anons;
  std::vector<Page> pages;
};

class Builder {
 public:
  explicit Builder(PointerNames* names) : names_(names) {}

  Model Build(std::span<const DumpedProcess> processes) {
    for (size_t i = 0; i < processes.size(); i++) AddProcess(i, processes[i]);
    return std::move(model_);
  }

 private:
  void AddProcess(size_t index, const DumpedProcess& dp) {
    Proc proc;
    proc.pid = dp.process->pid();
    proc.label = dp.name.empty()
                     ? absl::StrCat("process ", proc.pid)
                     : absl::StrCat(dp.name, " (pid ", proc.pid, ")");
    proc.exited = dp.process->exited();
    const std::string node = absl::StrCat("p", index);
    if (!proc.exited) {
      vm_map* map = &dp.process->vmspace()->vm_map;
      proc.map = names_->Name(reinterpret_cast<uintptr_t>(map), "map");
      proc.nentries = map->nentries;
      proc.size = map->size;
      int k = 0;
      for (vm_map_entry* e = uvm_map_first(map); e != nullptr;
           e = uvm_map_next(map, e), k++) {
        Entry entry{names_->Name(reinterpret_cast<uintptr_t>(e), "entry"),
                    e->start,
                    e->end,
                    e->protection,
                    e->max_protection,
                    e->inheritance,
                    e->etype,
                    e->wired_count};
        if (e->aref.ar_amap != nullptr) {
          entry.pageoff = e->aref.ar_pageoff;
          entry.amap = AddAmap(e->aref.ar_amap);
          const int npages =
              static_cast<int>((e->end - e->start) >> PAGE_SHIFT);
          model_.amaps[entry.amap].refs.push_back(
              {absl::StrFormat("%s %s", dp.name.empty() ? proc.label : dp.name,
                               entry.name),
               absl::StrCat(node, "_e", k),
               absl::StrFormat("slots [%d,%d)", entry.pageoff,
                               entry.pageoff + npages)});
        }
        proc.entries.push_back(entry);
      }
    }
    model_.procs.push_back(std::move(proc));
  }

  int AddAmap(const vm_amap* a) {
    auto it = amap_index_.find(a);
    if (it != amap_index_.end()) return it->second;
    const int index = static_cast<int>(model_.amaps.size());
    amap_index_.emplace(a, index);
    model_.amaps.push_back(
        {names_->Name(reinterpret_cast<uintptr_t>(a), "amap"), a, {}, {}});
    for (int slot = 0; slot < a->am_nslot; slot++) {
      const vm_anon* anon = a->am_anon[slot];
      if (anon == nullptr) continue;
      const int ai = AddAnon(anon);
      model_.amaps[index].slots.emplace_back(slot, ai);
      const std::string& amap_name = model_.amaps[index].name;
      model_.anons[ai].refs.push_back({absl::StrCat(amap_name, " slot ", slot),
                                       NodeName(amap_name),
                                       absl::StrCat("slot ", slot)});
    }
    return index;
  }

  int AddAnon(const vm_anon* anon) {
    auto it = anon_index_.find(anon);
    if (it != anon_index_.end()) return it->second;
    const int index = static_cast<int>(model_.anons.size());
    anon_index_.emplace(anon, index);
    Anon rec{
        names_->Name(reinterpret_cast<uintptr_t>(anon), "anon"), anon, -1, {}};
    if (anon->an_page != nullptr) {
      rec.page = static_cast<int>(model_.pages.size());
      model_.pages.push_back(
          {names_->Name(reinterpret_cast<uintptr_t>(anon->an_page), "page"),
           anon->an_page, mmu::MappingCount(anon->an_page)});
    }
    model_.anons.push_back(std::move(rec));
    return index;
  }

 public:
  static std::string NodeName(const std::string& name) {
    return absl::StrReplaceAll(name, {{"#", "_"}});
  }

 private:
  PointerNames* names_;
  Model model_;
  std::map<const vm_amap*, int> amap_index_;
  std::map<const vm_anon*, int> anon_index_;
};

Model BuildModel(std::span<const DumpedProcess> processes,
                 const StructureOptions& options) {
  PointerNames fresh;
  Builder b(options.names != nullptr ? options.names : &fresh);
  return b.Build(processes);
}

std::string EntryLine(const Entry& e) {
  return absl::StrFormat("%s [0x%x, 0x%x) %s/%s inherit %s %s wired %d", e.name,
                         e.start, e.end, ProtName(e.prot), ProtName(e.max_prot),
                         InheritName(e.inherit), Etype(e.etype), e.wired);
}

std::string AmapLine(const Amap& m) {
  return absl::StrFormat(
      "ref %d, flags %s, nslot %d, maxslot %d, nused %d, ppref %s", m.a->am_ref,
      AmapFlagsToString(m.a->am_flags), m.a->am_nslot, m.a->am_maxslot,
      m.a->am_nused, DescribePpref(m.a));
}

std::string PageLine(const Page& p) {
  return absl::StrFormat(
      "%s: pa 0x%x (frame %d), flags %s, pqflags %s, wired %d, %d mappings",
      p.name, p.pg->phys_addr, p.pg->phys_addr >> PAGE_SHIFT,
      PageFlags(p.pg->flags), PqFlags(p.pg->pqflags), p.pg->wire_count,
      p.mappings);
}

std::string AnonLine(const Anon& a, const Model& m) {
  std::string page = a.page < 0
                         ? "no page"
                         : absl::StrFormat("%s pa 0x%x", m.pages[a.page].name,
                                           m.pages[a.page].pg->phys_addr);
  std::string swap = a.a->an_swslot == 0
                         ? "no swap"
                         : absl::StrFormat("swap slot %d", a.a->an_swslot);
  return absl::StrFormat("ref %d, %s, %s", a.a->an_ref, page, swap);
}

std::string DotQuote(const std::string& s) {
  // labels use \n line breaks: only quotes need escaping
  return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\"", "\\\""}}), "\"");
}

}  // namespace

std::string StructureText(std::span<const DumpedProcess> processes,
                          const StructureOptions& options) {
  const Model m = BuildModel(processes, options);
  std::string out;
  for (const Proc& p : m.procs) {
    if (p.exited) {
      absl::StrAppend(&out, p.label, ": exited\n");
      continue;
    }
    absl::StrAppendFormat(&out, "%s: %s, %d entries, %d bytes mapped\n",
                          p.label, p.map, p.nentries, p.size);
    for (const Entry& e : p.entries) {
      absl::StrAppend(&out, "  ", EntryLine(e));
      if (e.amap < 0) {
        absl::StrAppend(&out, ", no amap\n");
      } else {
        const int npages = static_cast<int>((e.end - e.start) >> PAGE_SHIFT);
        absl::StrAppendFormat(&out, " -> %s slots [%d,%d)\n",
                              m.amaps[e.amap].name, e.pageoff,
                              e.pageoff + npages);
      }
    }
  }
  for (const Amap& a : m.amaps) {
    absl::StrAppend(&out, a.name, ": ", AmapLine(a));
    if (a.refs.size() > 1)
      absl::StrAppendFormat(&out, " [shared by %d entries]", a.refs.size());
    absl::StrAppend(&out, "\n");
    for (const auto& [slot, anon] : a.slots)
      absl::StrAppendFormat(&out, "  slot %d -> %s\n", slot,
                            m.anons[anon].name);
  }
  for (const Anon& a : m.anons) {
    absl::StrAppend(&out, a.name, ": ", AnonLine(a, m));
    if (a.refs.size() > 1) {
      absl::StrAppend(&out, " [shared: ",
                      absl::StrJoin(a.refs, ", ",
                                    [](std::string* o, const Ref& r) {
                                      absl::StrAppend(o, r.from);
                                    }),
                      "]");
    }
    absl::StrAppend(&out, "\n");
  }
  for (const Page& p : m.pages) absl::StrAppend(&out, PageLine(p), "\n");
  return out;
}

std::string StructureDot(std::span<const DumpedProcess> processes,
                         const StructureOptions& options) {
  const Model m = BuildModel(processes, options);
  constexpr const char* kShared =
      "style=\"filled,bold\", fillcolor=\"#ffd59e\"";
  std::string out = "digraph uvm {\n";
  if (!options.title.empty())
    absl::StrAppend(&out, "  label=", DotQuote(options.title),
                    "; labelloc=t;\n");
  absl::StrAppend(&out,
                  "  rankdir=LR;\n"
                  "  node [shape=box, fontname=\"monospace\", fontsize=10];\n"
                  "  edge [fontname=\"monospace\", fontsize=9];\n");
  for (size_t i = 0; i < m.procs.size(); i++) {
    const Proc& p = m.procs[i];
    const std::string node = absl::StrCat("p", i);
    // a box around each process's nodes (not titled: the graph's title
    // would be inherited; the process node names it)
    absl::StrAppendFormat(&out, "  subgraph cluster_%s {\n    label=\"\";\n",
                          node);
    absl::StrAppendFormat(
        &out, "    %s [label=%s, shape=folder];\n", node,
        DotQuote(p.exited ? absl::StrCat(p.label, "\\nexited") : p.label));
    if (!p.exited) {
      absl::StrAppendFormat(
          &out, "    %s_map [label=%s];\n    %s -> %s_map;\n", node,
          DotQuote(absl::StrFormat("%s\\n%d entries, %d bytes", p.map,
                                   p.nentries, p.size)),
          node, node);
    }
    for (size_t k = 0; k < p.entries.size(); k++) {
      const Entry& e = p.entries[k];
      absl::StrAppendFormat(
          &out, "    %s_e%d [label=%s];\n    %s_map -> %s_e%d;\n", node, k,
          DotQuote(absl::StrFormat(
              "%s\\n[0x%x, 0x%x)\\n%s/%s inherit %s\\n%s wired %d", e.name,
              e.start, e.end, ProtName(e.prot), ProtName(e.max_prot),
              InheritName(e.inherit), Etype(e.etype), e.wired)),
          node, node, k);
    }
    absl::StrAppend(&out, "  }\n");
  }
  for (const Amap& a : m.amaps) {
    absl::StrAppendFormat(
        &out, "  %s [label=%s, shape=box3d%s];\n", Builder::NodeName(a.name),
        DotQuote(absl::StrFormat(
            "%s\\nref %d, flags %s\\nnslot %d, maxslot %d, nused %d\\nppref %s",
            a.name, a.a->am_ref, AmapFlagsToString(a.a->am_flags),
            a.a->am_nslot, a.a->am_maxslot, a.a->am_nused, DescribePpref(a.a))),
        a.refs.size() > 1 ? absl::StrCat(", ", kShared) : "");
    for (const Ref& r : a.refs)
      absl::StrAppendFormat(&out, "  %s -> %s [label=%s];\n", r.edge_from,
                            Builder::NodeName(a.name), DotQuote(r.edge_label));
  }
  for (const Anon& a : m.anons) {
    std::string label = absl::StrFormat(
        "%s\\nref %d\\n%s", a.name, a.a->an_ref,
        a.a->an_swslot == 0 ? std::string("no swap")
                            : absl::StrFormat("swap slot %d", a.a->an_swslot));
    absl::StrAppendFormat(&out, "  %s [label=%s, shape=ellipse%s];\n",
                          Builder::NodeName(a.name), DotQuote(label),
                          a.refs.size() > 1 ? absl::StrCat(", ", kShared) : "");
    for (const Ref& r : a.refs)
      absl::StrAppendFormat(&out, "  %s -> %s [label=%s];\n", r.edge_from,
                            Builder::NodeName(a.name), DotQuote(r.edge_label));
    if (a.page >= 0) {
      const Page& p = m.pages[a.page];
      absl::StrAppendFormat(
          &out, "  page_%x [label=%s, shape=note];\n  %s -> page_%x;\n",
          p.pg->phys_addr >> PAGE_SHIFT,
          DotQuote(absl::StrFormat("%s pa 0x%x\\n%s\\n%d mappings, wired %d",
                                   p.name, p.pg->phys_addr,
                                   PqFlags(p.pg->pqflags), p.mappings,
                                   p.pg->wire_count)),
          Builder::NodeName(a.name), p.pg->phys_addr >> PAGE_SHIFT);
    }
  }
  absl::StrAppend(&out, "}\n");
  return out;
}

}  // namespace uvmemu
