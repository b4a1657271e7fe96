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

namespace {

constexpr size_t kDefaultCapacity = 4096;

// The records behind uvmhist_ring.buf; never destroyed: usable at exit.
std::vector<uvmhist_rec>& Storage() {
  static auto* storage = new std::vector<uvmhist_rec>;
  return *storage;
}

void Resize(size_t records) {
  std::vector<uvmhist_rec>& buf = Storage();
  buf.assign(records, uvmhist_rec{});
  buf.shrink_to_fit();
  uvmhist_ring = {buf.data(), buf.size(), 0, 0, 0};
}

// The default ring exists before main, so that anything logging without
// a booted kernel (tests) is recorded too.
const bool default_ring = (Resize(kDefaultCapacity), true);

}  // namespace

// At a fixed C name so that gdb's uvm-hist (tools/gdb) can read the ring
// without calling into the program.
struct uvmhist_ring uvmhist_ring = {nullptr, 0, 0, 0, 0};

void uvmhist_log(struct kern_history* hist, const char* fname,
                 const char* fmt, uint64_t a, uint64_t b, uint64_t c,
                 uint64_t d) {
  if (!uvmhist_enabled) return;
  static const kern_history unknown = {"?"};
  uvmhist_record(hist != nullptr && hist->name != nullptr ? hist : &unknown,
                 fname != nullptr ? fname : "?", fmt != nullptr ? fmt : "", a,
                 b, c, d);
}

namespace uvmemu {

void Trace::Enable(bool on) { uvmhist_enabled = on; }

bool Trace::Enabled() { return uvmhist_enabled; }

void Trace::SetCapacity(size_t records) { Resize(records); }

void Trace::Clear() {
  uvmhist_ring.next = 0;
  uvmhist_ring.count = 0;
  uvmhist_ring.seq = 0;
}

std::vector<TraceRecord> Trace::Tail(size_t n) {
  const struct uvmhist_ring& r = uvmhist_ring;
  if (n == 0 || n > r.count) n = r.count;
  std::vector<TraceRecord> out;
  out.reserve(n);
  const size_t cap = r.cap;
  // the oldest wanted record is n slots before `next`
  size_t i = (r.next + cap - n) % (cap == 0 ? 1 : cap);
  for (size_t k = 0; k < n; k++) {
    const uvmhist_rec& rec = r.buf[i];
    out.push_back(TraceRecord{rec.seq, rec.lwp, rec.history, rec.function,
                              rec.format,
                              {rec.args[0], rec.args[1], rec.args[2],
                               rec.args[3]}});
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
