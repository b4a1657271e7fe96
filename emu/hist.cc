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
// Formatting never hands the kernel's format string to printf: it is
// parsed here and each conversion is rendered from a format this file
// builds itself (see FormatMessage).
#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include <sys/lwp.h>
#include <uvm/uvm_stat.h>

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

// Widths and precisions are clamped so a corrupt format cannot ask for
// megabytes of padding.
constexpr int kMaxWidth = 64;

void AppendPadded(std::string& out, const std::string& s, int width,
                  bool left) {
  if (width > 0 && s.size() < static_cast<size_t>(width)) {
    std::string pad(static_cast<size_t>(width) - s.size(), ' ');
    out += left ? s + pad : pad + s;
  } else {
    out += s;
  }
}

std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// Renders a NetBSD UVMHIST format with its four arguments.
//
// Supported: %d %i (the 64-bit value as signed), %u %x %X %o (as unsigned
// 64-bit), %p (0x-prefixed hex), %c (the character if printable ASCII,
// else hex), %% ; flags "-+ #0", a width and a precision (digits or '*',
// which takes an argument), and length modifiers hh h l ll q j z t L,
// which are accepted and ignored: every argument is already 64 bits.
// Arguments are integers, so %s prints the value in hex, as does any
// unknown conversion.  A conversion past the fourth argument prints
// "<?>"; a format ending inside a conversion prints the rest literally.
std::string FormatMessage(const char* fmt, const uint64_t args[4]) {
  std::string out;
  if (fmt == nullptr) return out;
  size_t argi = 0;
  bool missing = false;
  auto next_arg = [&]() -> uint64_t {
    if (argi < 4) return args[argi++];
    missing = true;
    return 0;
  };
  const char* p = fmt;
  while (*p != '\0') {
    if (*p != '%') {
      out += *p++;
      continue;
    }
    const char* start = p++;
    if (*p == '%') {
      out += '%';
      p++;
      continue;
    }
    missing = false;
    bool f_minus = false, f_plus = false, f_space = false, f_hash = false,
         f_zero = false;
    for (;; p++) {
      if (*p == '-') f_minus = true;
      else if (*p == '+') f_plus = true;
      else if (*p == ' ') f_space = true;
      else if (*p == '#') f_hash = true;
      else if (*p == '0') f_zero = true;
      else break;
    }
    int width = -1;
    if (*p == '*') {
      p++;
      int64_t w = static_cast<int64_t>(next_arg());
      if (w < 0) {
        f_minus = true;
        w = -w;
      }
      width = static_cast<int>(w > kMaxWidth ? kMaxWidth : w);
    } else {
      while (*p >= '0' && *p <= '9') {
        if (width < 0) width = 0;
        width = width * 10 + (*p - '0');
        if (width > kMaxWidth) width = kMaxWidth;
        p++;
      }
    }
    int prec = -1;
    if (*p == '.') {
      p++;
      prec = 0;
      if (*p == '*') {
        p++;
        int64_t pr = static_cast<int64_t>(next_arg());
        prec = pr < 0 ? -1 : static_cast<int>(pr > kMaxWidth ? kMaxWidth : pr);
      } else {
        while (*p >= '0' && *p <= '9') {
          prec = prec * 10 + (*p - '0');
          if (prec > kMaxWidth) prec = kMaxWidth;
          p++;
        }
      }
    }
    while (*p != '\0' && std::strchr("hlqjztL", *p) != nullptr) p++;
    const char conv = *p;
    if (conv == '\0') {
      out.append(start);  // incomplete conversion: print it as it stands
      break;
    }
    p++;
    const uint64_t v = next_arg();
    if (missing) {
      out += "<?>";
      continue;
    }
    // Build the conversion ourselves from validated parts, always with
    // the "ll" length the argument really has.
    auto spec = [&](bool is_signed, bool allow_hash, char c) {
      std::string s = "%";
      if (f_minus) s += '-';
      if (is_signed && f_plus) s += '+';
      if (is_signed && f_space) s += ' ';
      if (allow_hash && f_hash) s += '#';
      if (f_zero) s += '0';
      if (width >= 0) s += std::to_string(width);
      if (prec >= 0) s += "." + std::to_string(prec);
      s += "ll";
      s += c;
      return s;
    };
    char buf[3 * kMaxWidth + 32];
    switch (conv) {
      case 'd':
      case 'i':
        std::snprintf(buf, sizeof buf, spec(true, false, 'd').c_str(),
                      static_cast<long long>(static_cast<int64_t>(v)));
        out += buf;
        break;
      case 'u':
        std::snprintf(buf, sizeof buf, spec(false, false, 'u').c_str(),
                      static_cast<unsigned long long>(v));
        out += buf;
        break;
      case 'x':
      case 'X':
      case 'o':
        std::snprintf(buf, sizeof buf, spec(false, true, conv).c_str(),
                      static_cast<unsigned long long>(v));
        out += buf;
        break;
      case 'c':
        if (v >= 0x20 && v < 0x7f)
          AppendPadded(out, std::string(1, static_cast<char>(v)), width,
                       f_minus);
        else
          AppendPadded(out, Hex(v), width, f_minus);
        break;
      case 'p':
      case 's':  // arguments are integers: show the value
      default:   // unknown conversion: the raw value
        AppendPadded(out, Hex(v), width, f_minus);
        break;
    }
  }
  return out;
}

}  // namespace

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

std::string Trace::Format(const TraceRecord& rec) {
  std::string s = "#" + std::to_string(rec.seq) + " lwp" +
                  std::to_string(rec.lwp) + " " +
                  (rec.function != nullptr ? rec.function : "?") + ": ";
  s += FormatMessage(rec.format, rec.args);
  return s;
}

void Trace::Print(std::ostream& os, size_t n) {
  for (const TraceRecord& rec : Tail(n)) os << Format(rec) << '\n';
}

}  // namespace uvmemu
