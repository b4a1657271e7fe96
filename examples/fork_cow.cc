// The flagship example: copy-on-write across fork, through real page
// protection.
//
// A parent maps four pages, writes a pattern with ordinary stores and
// forks.  The child then writes two of the pages.  Each store that hits
// a write-protected page raises SIGSEGV; the software MMU hands it to
// UVM's fault handler, which copies the page (the COW) into a new anon
// and maps it writable.  Both processes print what they read, and the
// amap/anon/page state is shown before and after.
//
//   fork_cow [--dot FILE] [--text FILE] [--trace FILE]
//
// also writes the final structures as a Graphviz graph (dot -Tsvg) or as
// text, and the UVMHIST ring as Chrome trace-event JSON (open it in
// ui.perfetto.dev); all three are the same for every run.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "emu/mmu.h"
#include "uvm/uvm.h"
#include "uvmemu/machine.h"
#include "uvmemu/structure.h"
#include "uvmemu/trace.h"

namespace {

constexpr uint64_t kPages = 4;

void PrintContents(const char* who, const uvmemu::Process& p, uint64_t va) {
  std::printf("%-7s reads:", who);
  for (uint64_t i = 0; i < kPages; i++)
    std::printf("  \"%s\"", p.Ptr<const char>(va + i * PAGE_SIZE));
  std::printf("\n");
}

void Section(const char* title) { std::printf("\n== %s\n", title); }

struct Outputs {
  std::string dot, text, trace;
};

// Parses the command line; false on anything unknown.
bool ParseArgs(int argc, char** argv, Outputs& out) {
  for (int i = 1; i < argc; i++) {
    const std::string arg = argv[i];
    std::string* dest = arg == "--dot"     ? &out.dot
                        : arg == "--text"  ? &out.text
                        : arg == "--trace" ? &out.trace
                                           : nullptr;
    if (dest == nullptr || i + 1 == argc) return false;
    *dest = argv[++i];
  }
  return true;
}

bool WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << contents;
  f.close();
  if (!f) std::fprintf(stderr, "fork_cow: cannot write %s\n", path.c_str());
  return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char** argv) {
  Outputs outputs;
  if (!ParseArgs(argc, argv, outputs)) {
    std::fprintf(stderr,
                 "usage: fork_cow [--dot FILE] [--text FILE] [--trace FILE]\n");
    return 64;
  }
  uvmemu::Machine machine({.physical_pages = 256});
  uvmemu::Process parent = *machine.Spawn();
  const uint64_t va = *parent.Mmap(kPages * PAGE_SIZE, uvmemu::kReadWrite);

  // Plain stores: each first touch is a zero-fill fault.
  for (uint64_t i = 0; i < kPages; i++)
    std::snprintf(parent.Ptr(va + i * PAGE_SIZE), 32, "parent page %d",
                  static_cast<int>(i));
  Section("parent after writing its pages");
  std::fputs(parent.Dump().c_str(), stdout);

  uvmemu::Process child = *parent.Fork();
  Section("right after fork: both entries needs-copy, one amap (ref 2)");
  std::fputs(parent.Dump().c_str(), stdout);
  std::fputs(child.Dump().c_str(), stdout);

  // For anonymous memory even a read resolves needs-copy: amap_copy gives
  // the child its own amap, whose anons are the parent's (an_ref 2).
  // The pages are mapped read-only in both; nothing is copied yet.
  PrintContents("child", child, va);
  Section("after the child's first read: two amaps sharing every anon");
  std::fputs(child.Dump().c_str(), stdout);

  const auto before = uvmemu::mmu::GetStats();
  for (uint64_t i = 0; i < kPages / 2; i++)
    std::snprintf(child.Ptr(va + i * PAGE_SIZE), 32, "child wrote %d",
                  static_cast<int>(i));
  const auto after = uvmemu::mmu::GetStats();

  // Each store to a shared page faults; uvm_fault copies the page into a
  // new anon (the COW) and amap_add replaces the child's slot.
  Section("after the child wrote pages 0 and 1");
  PrintContents("parent", parent, va);
  PrintContents("child", child, va);
  std::fputs(parent.Dump().c_str(), stdout);
  std::fputs(child.Dump().c_str(), stdout);
  std::printf(
      "\n%llu SIGSEGVs taken, %llu handed to uvm_fault; "
      "COW faults so far: %d\n",
      static_cast<unsigned long long>(after.faults - before.faults),
      static_cast<unsigned long long>(after.uvm_faults - before.uvm_faults),
      uvmexp.cowfaults);

  Section("the last UVMHIST records (the child's second COW)");
  std::fflush(stdout);
  uvmemu::Trace::Print(std::cout, 12);
  std::cout.flush();

  const std::vector<uvmemu::DumpedProcess> procs = {{"parent", &parent},
                                                    {"child", &child}};
  // One set of names, so that the trace calls objects what the pictures
  // call them (amap#1, anon#3, ...).
  uvmemu::PointerNames names;
  uvmemu::StructureOptions options;
  options.names = &names;
  const std::string text = uvmemu::StructureText(procs, options);
  bool ok = true;
  if (!outputs.dot.empty()) {
    options.title = "fork_cow: after the child wrote pages 0 and 1";
    ok &= WriteFile(outputs.dot, uvmemu::StructureDot(procs, options));
  }
  if (!outputs.text.empty()) ok &= WriteFile(outputs.text, text);
  if (!outputs.trace.empty()) {
    uvmemu::ChromeTraceOptions trace_options;
    trace_options.names = &names;
    const absl::Status s =
        uvmemu::Trace::WriteChromeTrace(outputs.trace, trace_options);
    if (!s.ok()) std::fprintf(stderr, "fork_cow: %s\n", s.ToString().c_str());
    ok &= s.ok();
  }
  return ok ? 0 : 1;
}
