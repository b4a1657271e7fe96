// Pictures of the VM structures of several processes at once, as text or
// as a Graphviz DOT graph: process -> map -> entries -> amaps -> anons ->
// pages.  An object reached from more than one place (an amap right
// after fork, an anon shared by two amaps after amap_copy) is drawn once,
// with an edge from each place that refers to it, so sharing is visible.
//
//   std::vector<uvmemu::DumpedProcess> procs = {{"parent", &parent},
//                                               {"child", &child}};
//   std::string dot = uvmemu::StructureDot(procs);   // dot -Tsvg
//
// Objects are named amap#1, anon#2, ... in the order the walk meets them
// (processes in the given order, entries by address, slots by number);
// pages by physical address.  The same state gives the same text.
#ifndef UVMEMU_STRUCTURE_H
#define UVMEMU_STRUCTURE_H

#include <span>
#include <string>

#include "uvmemu/process.h"
#include "uvmemu/trace.h"

namespace uvmemu {

struct DumpedProcess {
  std::string name;  // shown with the pid; empty: "process <pid>"
  const Process* process = nullptr;
};

struct StructureOptions {
  // Names for amaps and anons; keep one across dumps (and share it with
  // Trace::Format) to have an object keep its name.  Null: a fresh set.
  PointerNames* names = nullptr;
  // DOT only: the graph's title.
  std::string title;
};

// A text listing: each process's entries, then every amap (slots and
// ppref runs), anon (who refers to it) and page, once each.
std::string StructureText(std::span<const DumpedProcess> processes,
                          const StructureOptions& options = {});

// The same as a Graphviz digraph; shared objects are highlighted.
std::string StructureDot(std::span<const DumpedProcess> processes,
                         const StructureOptions& options = {});

}  // namespace uvmemu

#endif  // UVMEMU_STRUCTURE_H
