// The scenario language's commands: one table entry each (name,
// arguments, help, run function).  To add a command, write its run
// function and add its entry to Commands().
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/scenario/runner.h"
#include "tools/scenario/scenario.h"
#include "uvm/uvm.h"
#include "uvmemu/memory_stats.h"
#include "uvmemu/structure.h"

namespace uvmemu::scenario {
namespace {

using A = ArgKind;

// Shorthands for the run functions: the process and the address named
// by the argument at position i.
absl::StatusOr<Process*> Proc(Runner& r, const Command& c, size_t i) {
  return r.process(c.args[i].word);
}

absl::StatusOr<uint64_t> Addr(Runner& r, const Command& c, size_t i) {
  return r.Resolve(c.args[i].address);
}

// A C string literal of the bytes up to the first NUL, for output.
std::string Printable(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\')
      absl::StrAppend(&out, "\\", std::string(1, ch));
    else if (ch == '\n')
      out += "\\n";
    else if (ch < 0x20 || ch >= 0x7f)
      absl::StrAppendFormat(&out, "\\x%02x", ch);
    else
      out += static_cast<char>(ch);
  }
  return out + "\"";
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f)
    return absl::InvalidArgumentError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

#define TRY(var, expr)                          \
  auto var##_or = (expr);                       \
  if (!var##_or.ok()) return var##_or.status(); \
  auto var = std::move(*var##_or)

absl::Status Spawn(Runner& r, const Command& c) {
  TRY(p, r.machine().Spawn());
  r.Say(absl::StrCat(c.args[0].word, " is process ", p.pid()));
  r.AddProcess(c.args[0].word, std::move(p));
  return absl::OkStatus();
}

absl::Status Map(Runner& r, const Command& c) {
  TRY(p, Proc(r, c, 0));
  const uint64_t pages = c.args[2].number;
  MapOptions opts;
  opts.shared = c.args[4].present && c.args[4].word == "shared";
  TRY(va, p->Mmap(pages * PAGE_SIZE, static_cast<int>(c.args[3].number), opts));
  r.AddRegion(c.args[1].word, {va, pages});
  r.Say(absl::StrFormat("%s = [0x%x, 0x%x), %d pages", c.args[1].word, va,
                        va + pages * PAGE_SIZE, pages));
  return absl::OkStatus();
}

absl::Status Fork(Runner& r, const Command& c) {
  TRY(parent, Proc(r, c, 0));
  TRY(child, parent->Fork());
  r.Say(absl::StrCat(c.args[1].word, " is process ", child.pid()));
  r.AddProcess(c.args[1].word, std::move(child));
  return absl::OkStatus();
}

absl::Status Write(Runner& r, const Command& c) {
  TRY(p, Proc(r, c, 0));
  TRY(va, Addr(r, c, 1));
  const std::string& text = c.args[2].word;
  // with its NUL, so that `read` and `expect` see where it ends
  if (absl::Status s = p->Write(va, text.c_str(), text.size() + 1); !s.ok())
    return s;
  r.Say(absl::StrFormat("wrote %d bytes at 0x%x", text.size() + 1, va));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadString(Process* p, uint64_t va, size_t max) {
  std::string buf(max, '\0');
  if (absl::Status s = p->Read(va, buf.data(), max); !s.ok()) return s;
  buf.resize(std::strlen(buf.c_str()));
  return buf;
}

absl::Status Read(Runner& r, const Command& c) {
  TRY(p, Proc(r, c, 0));
  TRY(va, Addr(r, c, 1));
  const uint64_t max = c.args[2].present ? c.args[2].number : 64;
  if (max == 0 || max > PAGE_SIZE)
    return absl::InvalidArgumentError("BYTES must be in [1, 4096]");
  TRY(text, ReadString(p, va, max));
  r.Say(absl::StrFormat("0x%x: %s", va, Printable(text)));
  return absl::OkStatus();
}

absl::Status Expect(Runner& r, const Command& c) {
  TRY(p, Proc(r, c, 0));
  TRY(va, Addr(r, c, 1));
  const std::string& want = c.args[2].word;
  TRY(got, ReadString(p, va, want.size() + 1));
  if (got != want)
    return absl::FailedPreconditionError(absl::StrFormat(
        "read %s at 0x%x, expected %s", Printable(got), va, Printable(want)));
  r.Say(absl::StrFormat("0x%x: %s, as expected", va, Printable(got)));
  return absl::OkStatus();
}

// unmap, protect, inherit, wire, unwire: PROC ADDR PAGES [...]
absl::Status RangeOp(Runner& r, const Command& c) {
  TRY(p, Proc(r, c, 0));
  TRY(va, Addr(r, c, 1));
  const uint64_t len = c.args[2].number * PAGE_SIZE;
  const std::string op = c.spec->name;
  absl::Status s;
  if (op == "unmap")
    s = p->Munmap(va, len);
  else if (op == "protect")
    s = p->Mprotect(va, len, static_cast<int>(c.args[3].number));
  else if (op == "inherit")
    s = p->Minherit(va, len,
                    c.args[3].word == "share"  ? Inherit::kShare
                    : c.args[3].word == "copy" ? Inherit::kCopy
                                               : Inherit::kNone);
  else if (op == "wire")
    s = p->Wire(va, len);
  else
    s = p->Unwire(va, len);
  if (!s.ok()) return s;
  r.Say(absl::StrFormat("%s [0x%x, 0x%x)", op, va, va + len));
  return absl::OkStatus();
}

absl::Status Exit(Runner& r, const Command& c) {
  TRY(p, Proc(r, c, 0));
  if (absl::Status s = p->Exit(); !s.ok()) return s;
  r.Say(absl::StrCat(c.args[0].word, " exited"));
  return absl::OkStatus();
}

absl::Status Dump(Runner& r, const Command& c) {
  std::vector<std::string> only;
  if (c.args[0].present) {
    if (absl::Status s = r.process(c.args[0].word).status(); !s.ok()) return s;
    only.push_back(c.args[0].word);
  }
  r.Say(r.State(only));
  return absl::OkStatus();
}

absl::Status Dot(Runner& r, const Command& c) {
  std::vector<DumpedProcess> procs;
  for (const auto& [name, p] : r.processes()) procs.push_back({name, p.get()});
  if (absl::Status s = WriteFile(
          c.args[0].word,
          StructureDot(procs, {.names = &r.names(), .title = c.args[1].word}));
      !s.ok())
    return s;
  r.Say(absl::StrCat("wrote ", c.args[0].word, " (render: dot -Tsvg ",
                     c.args[0].word, " -o out.svg)"));
  return absl::OkStatus();
}

absl::Status TraceJson(Runner& r, const Command& c) {
  ChromeTraceOptions options;
  options.names = &r.names();  // the names the state output uses
  if (absl::Status s = Trace::WriteChromeTrace(c.args[0].word, options);
      !s.ok())
    return s;
  r.Say(
      absl::StrCat("wrote ", c.args[0].word, " (open it in ui.perfetto.dev)"));
  return absl::OkStatus();
}

absl::Status Echo(Runner& r, const Command& c) {
  r.Say(c.args[0].word);
  return absl::OkStatus();
}

// A number argument as the int the paging API takes.
absl::StatusOr<int> Int(const Value& v, const char* what) {
  if (v.number > static_cast<uint64_t>(std::numeric_limits<int>::max()))
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", v.number, " is too large"));
  return static_cast<int>(v.number);
}

std::string SwapSummary(const MemoryStats& s) {
  return absl::StrFormat(
      "swap: %d slots on, %d in use (%d holding the only copy); memory: %d "
      "of %d pages free",
      s.swap_slots, s.swap_in_use, s.swap_only, s.free, s.pages);
}

absl::Status PageOut(Runner& r, const Command& c) {
  TRY(p, Proc(r, c, 0));
  TRY(va, Addr(r, c, 1));
  TRY(pages, c.args[2].present ? absl::StatusOr<uint64_t>(c.args[2].number)
                               : r.PagesToEnd(c.args[1].address));
  const uint64_t len = pages * PAGE_SIZE;
  TRY(n, p->PageOut(va, len));
  r.Say(absl::StrFormat("paged out %d pages of [0x%x, 0x%x)", n, va, va + len));
  r.Say(SwapSummary(r.machine().Stats()));
  return absl::OkStatus();
}

absl::Status PageDaemon(Runner& r, const Command& c) {
  TRY(target, Int(c.args[0], "PAGES"));
  TRY(n, r.machine().PageOut(target));
  r.Say(absl::StrFormat("the page daemon freed %d of %d pages", n, target));
  r.Say(SwapSummary(r.machine().Stats()));
  return absl::OkStatus();
}

absl::Status Pressure(Runner& r, const Command&) {
  const int n = r.machine().RelieveMemoryPressure();
  r.Say(absl::StrFormat("the page daemon freed %d pages", n));
  r.Say(SwapSummary(r.machine().Stats()));
  return absl::OkStatus();
}

// swapoff, swapon: [FIRST END], every slot when left out.
absl::Status SwapRange(Runner& r, const Command& c) {
  const bool off = std::strcmp(c.spec->name, "swapoff") == 0;
  absl::Status s;
  std::string range = "every slot";
  if (!c.args[0].present) {
    s = off ? r.machine().SwapOff() : r.machine().SwapOn();
  } else if (!c.args[1].present) {
    return absl::InvalidArgumentError(
        absl::StrCat(c.spec->name, ": give both FIRST and END, or neither"));
  } else {
    TRY(first, Int(c.args[0], "FIRST"));
    TRY(end, Int(c.args[1], "END"));
    range = absl::StrFormat("slots [%d, %d)", first, end);
    s = off ? r.machine().SwapOff(first, end) : r.machine().SwapOn(first, end);
  }
  if (!s.ok()) return s;
  r.Say(absl::StrCat(range, off ? " off" : " on"));
  r.Say(SwapSummary(r.machine().Stats()));
  return absl::OkStatus();
}

absl::Status Stats(Runner& r, const Command&) {
  const MemoryStats s = r.machine().Stats();
  r.Say(absl::StrFormat(
      "memory: %d pages, %d free, %d active, %d inactive, %d wired, %d anon "
      "(page daemon below %d free, up to %d)",
      s.pages, s.free, s.active, s.inactive, s.wired, s.anon_pages, s.free_min,
      s.free_target));
  r.Say(SwapSummary(s));
  r.Say(absl::StrFormat(
      "since boot: %d page-outs, %d page-ins; page daemon: %d runs, %d "
      "freed, %d scanned",
      s.page_outs, s.page_ins, s.daemon_runs, s.daemon_freed,
      s.daemon_scanned));
  return absl::OkStatus();
}

}  // namespace

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> kCommands = {
      {"spawn",
       {{A::kNewProcess, "NAME"}},
       "a new process with an empty address space",
       Spawn},
      {"map",
       {{A::kProcess, "PROC"},
        {A::kNewRegion, "REGION"},
        {A::kPages, "PAGES"},
        {A::kProt, "PROT"},
        {A::kSharing, "SHARING", true}},
       "mmap anonymous memory (private unless `shared`) and name the range",
       Map},
      {"fork",
       {{A::kProcess, "PARENT"}, {A::kNewProcess, "CHILD"}},
       "fork(2)",
       Fork},
      {"write",
       {{A::kProcess, "PROC"}, {A::kAddress, "ADDR"}, {A::kText, "TEXT"}},
       "copyout TEXT and its NUL to ADDR",
       Write},
      {"read",
       {{A::kProcess, "PROC"},
        {A::kAddress, "ADDR"},
        {A::kCount, "BYTES", true}},
       "copyin at most BYTES (64) and print the string",
       Read},
      {"expect",
       {{A::kProcess, "PROC"}, {A::kAddress, "ADDR"}, {A::kText, "TEXT"}},
       "read and fail unless the string at ADDR is TEXT",
       Expect},
      {"unmap",
       {{A::kProcess, "PROC"}, {A::kAddress, "ADDR"}, {A::kPages, "PAGES"}},
       "munmap(2)",
       RangeOp},
      {"protect",
       {{A::kProcess, "PROC"},
        {A::kAddress, "ADDR"},
        {A::kPages, "PAGES"},
        {A::kProt, "PROT"}},
       "mprotect(2)",
       RangeOp},
      {"inherit",
       {{A::kProcess, "PROC"},
        {A::kAddress, "ADDR"},
        {A::kPages, "PAGES"},
        {A::kInherit, "MODE"}},
       "minherit(2)",
       RangeOp},
      {"wire",
       {{A::kProcess, "PROC"}, {A::kAddress, "ADDR"}, {A::kPages, "PAGES"}},
       "mlock(2): fault in and wire",
       RangeOp},
      {"unwire",
       {{A::kProcess, "PROC"}, {A::kAddress, "ADDR"}, {A::kPages, "PAGES"}},
       "munlock(2)",
       RangeOp},
      {"exit", {{A::kProcess, "PROC"}}, "tear the address space down", Exit},
      {"dump",
       {{A::kProcess, "PROC", true}},
       "print the structures (all processes)",
       Dump},
      {"dot",
       {{A::kFile, "FILE"}, {A::kWords, "TITLE"}},
       "write the structures as a Graphviz graph",
       Dot},
      {"trace",
       {{A::kFile, "FILE"}},
       "write the UVMHIST ring as Chrome trace JSON",
       TraceJson},
      {"echo", {{A::kWords, "TEXT"}}, "print TEXT", Echo},
      {"pageout",
       {{A::kProcess, "PROC"},
        {A::kAddress, "ADDR"},
        {A::kPages, "PAGES", true}},
       "page the range (to the region's end) out to swap",
       PageOut},
      {"pagedaemon",
       {{A::kPages, "PAGES"}},
       "run the page daemon until PAGES pages are freed",
       PageDaemon},
      {"pressure", {}, "run the page daemon if memory is short", Pressure},
      {"swapoff",
       {{A::kCount, "FIRST", true}, {A::kCount, "END", true}},
       "turn swap slots [FIRST, END) (all) off, paging their anons in",
       SwapRange},
      {"swapon",
       {{A::kCount, "FIRST", true}, {A::kCount, "END", true}},
       "turn swap slots [FIRST, END) (all) back on",
       SwapRange},
      {"stats", {}, "print the memory and swap counters", Stats},
  };
  return kCommands;
}

}  // namespace uvmemu::scenario
