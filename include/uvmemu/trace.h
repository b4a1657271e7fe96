// The UVMHIST trace: a ring buffer of the kernel's history records.
#ifndef UVMEMU_TRACE_H
#define UVMEMU_TRACE_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"

namespace uvmemu {

struct TraceRecord {
  uint64_t seq;          // global sequence number (logical time)
  int lwp;               // LWP id that logged it
  const char* history;   // "maphist", ...
  const char* function;  // UVMHIST_FUNC name
  const char* format;    // printf-style format with up to four arguments
  uint64_t args[4];
};

// Stable names for host pointers ("ptr#1", "amap#2", ...), given in order
// of first use, so that two runs of the same program print the same text
// although the host's malloc returns different addresses.  A name belongs
// to an address: an object allocated where a freed one was gets its name.
//
//   uvmemu::PointerNames names;
//   std::string line = uvmemu::Trace::Format(record, &names);
class PointerNames {
 public:
  // The name given to `p` before, else `kind` + "#" + the next number of
  // that kind.
  std::string Name(uint64_t p, std::string_view kind = "ptr");
  // Whether a trace argument is a host pointer rather than an emulated
  // address, a count or flags (it lies in [1 TiB, 256 TiB)).
  static bool LooksLikePointer(uint64_t v);

 private:
  std::unordered_map<uint64_t, std::string> names_;
  std::map<std::string, int, std::less<>> next_;
};

// What Trace::ChromeTraceJson exports.
struct ChromeTraceOptions {
  // Show host pointers in messages by stable names (PointerNames), so the
  // file is the same for two runs of the same program.  False: raw hex.
  bool stable_pointers = true;
  // The names to use, e.g. the ones StructureText gave the same objects
  // (include/uvmemu/structure.h); null: a fresh set.
  PointerNames* names = nullptr;
  // Export only the newest `last_records` records (0: the whole ring).
  size_t last_records = 0;
};

class Trace {
 public:
  // Turn recording on or off (off costs one predictable branch per
  // UVMHIST_LOG).  Default: on.
  static void Enable(bool on);
  static bool Enabled();
  // Resize the ring (discarding its contents); default 4096 records.
  static void SetCapacity(size_t records);
  static void Clear();
  // The newest `n` records (all if n == 0), oldest first.
  static std::vector<TraceRecord> Tail(size_t n = 0);
  // One record formatted as "#seq lwpN function: message"; with `names`,
  // host pointers in the message are shown by their stable names.
  static std::string Format(const TraceRecord& r,
                            PointerNames* names = nullptr);
  // Print the newest `n` records.
  static void Print(std::ostream& os, size_t n = 0);

  // The ring as Chrome trace-event JSON (open it in ui.perfetto.dev or
  // chrome://tracing).  One track (thread) per LWP; the timestamp of a
  // record is its sequence number, shown as microseconds, so a replayed
  // run exports an identical file.  Each record is an instant event
  // carrying its message; each run of consecutive records of one
  // function on one LWP is also a slice named after the function (a
  // UVMHIST_CALLED record starts a new one).  UVMHIST has no exit
  // records, so slices do not nest: a callee's records end the caller's
  // slice and the caller's next record starts another.
  static std::string ChromeTraceJson(const ChromeTraceOptions& options = {});
  // ChromeTraceJson written to `path`.
  static absl::Status WriteChromeTrace(const std::string& path,
                                       const ChromeTraceOptions& options = {});
};

}  // namespace uvmemu

#endif  // UVMEMU_TRACE_H
