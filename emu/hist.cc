// UVMHIST: the kernel's function-call history, kept in a ring buffer
// (uvm/uvm_stat.h), and the public uvmemu::Trace view of it
// (include/uvmemu/trace.h).
//
// Each record holds its call site (the history, the UVMHIST_FUNC name and
// the format string: pointers to literals, never copied), four 64-bit
// arguments and the id of the LWP that logged it; its place in the ring
// is its global sequence number (the logical time).  The machine runs on
// one host thread (LWPs are fibers), so the ring is not locked.
//
// Sequence numbers start at 1 and restart at 1 when the ring is cleared
// or resized, so two runs of the same test produce the same trace.
//
// Messages are rendered by emu/hist_format.cc.
#include <sys/lwp.h>
#include <uvm/uvm_stat.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "emu/hist_format.h"
#include "uvmemu/trace.h"

bool uvmhist_enabled = true;
UVMHIST_DECL(maphist);
UVMHIST_DECL(pdhist);

namespace {

constexpr size_t kDefaultCapacity = 4096;

// The records behind uvmhist_ring.buf; never destroyed: usable at exit.
std::vector<uvmhist_rec>& Storage() {
  static auto* storage = new std::vector<uvmhist_rec>;
  return *storage;
}

// The buffer is a power of 2 records (at least one, so that a ring of
// capacity 0 needs no test when recording: it only keeps nothing).
void Resize(size_t records) {
  size_t slots = 1;
  while (slots < records) slots <<= 1;
  std::vector<uvmhist_rec>& buf = Storage();
  buf.assign(slots, uvmhist_rec{});
  buf.shrink_to_fit();
  uvmhist_ring = {buf.data(), slots - 1, records, 0};
}

// The call site of a uvmhist_log() call (the macro makes its own as a
// constant): one per distinct history, function and format, kept for the
// life of the process, since records point at it.
const uvmhist_site* SiteOf(const kern_history* hist, const char* fname,
                           const char* fmt) {
  static auto* sites =
      new std::map<std::tuple<const kern_history*, const char*, const char*>,
                   uvmhist_site>;
  const auto key = std::make_tuple(hist, fname, fmt);
  auto it = sites->find(key);
  if (it == sites->end())
    it = sites->emplace(key, uvmhist_site{hist, fname, fmt}).first;
  return &it->second;
}

// The default ring exists before main, so that anything logging without
// a booted kernel (tests) is recorded too.
const bool default_ring = (Resize(kDefaultCapacity), true);

}  // namespace

// At a fixed C name so that gdb's uvm-hist (tools/gdb) can read the ring
// without calling into the program.
struct uvmhist_ring uvmhist_ring = {nullptr, 0, 0, 0};

void uvmhist_log(struct kern_history* hist, const char* fname, const char* fmt,
                 uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  if (!uvmhist_enabled) return;
  static const kern_history unknown = {"?"};
  uvmhist_record(
      SiteOf(hist != nullptr && hist->name != nullptr ? hist : &unknown,
             fname != nullptr ? fname : "?", fmt != nullptr ? fmt : ""),
      a, b, c, d);
}

namespace uvmemu {

void Trace::Enable(bool on) { uvmhist_enabled = on; }

bool Trace::Enabled() { return uvmhist_enabled; }

void Trace::SetCapacity(size_t records) { Resize(records); }

void Trace::Clear() { uvmhist_ring.seq = 0; }

std::vector<TraceRecord> Trace::Tail(size_t n) {
  const struct uvmhist_ring& r = uvmhist_ring;
  const size_t held = r.seq < r.cap ? static_cast<size_t>(r.seq) : r.cap;
  if (n == 0 || n > held) n = held;
  std::vector<TraceRecord> out;
  out.reserve(n);
  for (uint64_t seq = r.seq - n + 1; seq <= r.seq; seq++) {
    const uvmhist_rec& rec = r.buf[seq & r.mask];
    out.push_back(
        TraceRecord{seq,
                    rec.lwp,
                    rec.site->history->name,
                    rec.site->function,
                    rec.site->format,
                    {rec.args[0], rec.args[1], rec.args[2], rec.args[3]}});
  }
  return out;
}

std::string Trace::Format(const TraceRecord& rec, PointerNames* names) {
  std::string s = "#" + std::to_string(rec.seq) + " lwp" +
                  std::to_string(rec.lwp) + " " +
                  (rec.function != nullptr ? rec.function : "?") + ": ";
  s += internal::FormatHistMessage(rec.format, rec.args, names);
  return s;
}

void Trace::Print(std::ostream& os, size_t n) {
  for (const TraceRecord& rec : Tail(n)) os << Format(rec) << '\n';
}

}  // namespace uvmemu
