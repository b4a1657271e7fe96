// The UVMHIST trace: a ring buffer of the kernel's history records.
#ifndef UVMEMU_TRACE_H
#define UVMEMU_TRACE_H

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace uvmemu {

struct TraceRecord {
  uint64_t seq;          // global sequence number (logical time)
  int lwp;               // LWP id that logged it
  const char* history;   // "maphist", ...
  const char* function;  // UVMHIST_FUNC name
  const char* format;    // printf-style format with up to four arguments
  uint64_t args[4];
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
  // One record formatted as "#seq lwp function: message".
  static std::string Format(const TraceRecord& r);
  // Print the newest `n` records.
  static void Print(std::ostream& os, size_t n = 0);
};

}  // namespace uvmemu

#endif  // UVMEMU_TRACE_H
