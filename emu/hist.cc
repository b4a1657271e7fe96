// UVMHIST: the kernel's function-call history, kept in a ring buffer
// (uvm/uvm_stat.h), and the public uvmemu::Trace view of it
// (include/uvmemu/trace.h).
//
// Each record holds the history, the UVMHIST_FUNC name, the format string
// (a pointer to the literal; it is never copied) and four 64-bit
// arguments, stamped with a global sequence number (the logical time) and
// the id of the LWP that logged it.  The machine runs on one host thread
// (LWPs are fibers), so the ring is not locked.
//
// Sequence numbers start at 1 and restart at 1 when the ring is cleared
// or resized, so two runs of the same test produce the same trace.
//
// Messages are rendered by emu/hist_format.cc.
#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include <sys/lwp.h>
#include <uvm/uvm_stat.h>

#include "emu/hist_format.h"
#include "uvmemu/trace.h"

bool uvmhist_enabled = true;
UVMHIST_DECL(maphist);
UVMHIST_DECL(pdhist);

namespace uvmemu::internal {

constexpr size_t kDefaultCapacity = 4096;

struct HistRing {
  std::vector<TraceRecord> buf = std::vector<TraceRecord>(kDefaultCapacity);
  size_t next = 0;   // slot the next record goes to
  size_t count = 0;  // records held (<= buf.size())
  uint64_t seq = 0;  // sequence number of the newest record
};

// The ring, at a fixed name so that gdb's uvm-hist (tools/gdb) can read
// it without calling into the program; null until the first use.
HistRing* hist_ring = nullptr;

}  // namespace uvmemu::internal

namespace {

using Ring = uvmemu::internal::HistRing;

Ring& TheRing() {
  // never destroyed: usable at exit
  static Ring* ring = uvmemu::internal::hist_ring = new Ring;
  return *ring;
}

}  // namespace

void uvmhist_log(struct kern_history* hist, const char* fname,
                 const char* fmt, uint64_t a, uint64_t b, uint64_t c,
                 uint64_t d) {
  if (!uvmhist_enabled) return;
  Ring& r = TheRing();
  const uint64_t seq = ++r.seq;
  if (r.buf.empty()) return;
  uvmemu::TraceRecord& rec = r.buf[r.next];
  rec.seq = seq;
  rec.lwp = curlwp != nullptr ? curlwp->l_lid : 0;
  rec.history = hist != nullptr && hist->name != nullptr ? hist->name : "?";
  rec.function = fname != nullptr ? fname : "?";
  rec.format = fmt != nullptr ? fmt : "";
  rec.args[0] = a;
  rec.args[1] = b;
  rec.args[2] = c;
  rec.args[3] = d;
  r.next = (r.next + 1) % r.buf.size();
  if (r.count < r.buf.size()) r.count++;
}

namespace uvmemu {

void Trace::Enable(bool on) { uvmhist_enabled = on; }

bool Trace::Enabled() { return uvmhist_enabled; }

void Trace::SetCapacity(size_t records) {
  Ring& r = TheRing();
  r.buf.assign(records, TraceRecord{});
  r.buf.shrink_to_fit();
  r.next = 0;
  r.count = 0;
  r.seq = 0;
}

void Trace::Clear() {
  Ring& r = TheRing();
  r.next = 0;
  r.count = 0;
  r.seq = 0;
}

std::vector<TraceRecord> Trace::Tail(size_t n) {
  const Ring& r = TheRing();
  if (n == 0 || n > r.count) n = r.count;
  std::vector<TraceRecord> out;
  out.reserve(n);
  const size_t cap = r.buf.size();
  // the oldest wanted record is n slots before `next`
  size_t i = (r.next + cap - n) % (cap == 0 ? 1 : cap);
  for (size_t k = 0; k < n; k++) {
    out.push_back(r.buf[i]);
    i = (i + 1) % cap;
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
