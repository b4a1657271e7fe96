// Rendering of UVMHIST messages, and stable names for host pointers.
//
// Formatting never hands the kernel's format string to printf: it is
// parsed here and each conversion is rendered from a format this file
// builds itself.
#include "emu/hist_format.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "uvmemu/trace.h"

namespace uvmemu {

bool PointerNames::LooksLikePointer(uint64_t v) {
  // Emulated addresses live in 8 GiB windows and counts are small; the
  // host's heap and mappings sit between 1 TiB and the top of the 48-bit
  // user address space on x86-64 and arm64 Linux.
  return v >= (uint64_t{1} << 40) && v < (uint64_t{1} << 48);
}

std::string PointerNames::Name(uint64_t p, std::string_view kind) {
  auto it = names_.find(p);
  if (it != names_.end()) return it->second;
  auto counter = next_.find(kind);
  if (counter == next_.end())
    counter = next_.emplace(std::string(kind), 0).first;
  std::string name =
      std::string(kind) + "#" + std::to_string(++counter->second);
  names_.emplace(p, name);
  return name;
}

namespace internal {
namespace {

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
// With `names`, pointers are shown by name (emu/hist_format.h).
std::string FormatMessage(const char* fmt, const uint64_t args[4],
                          PointerNames* names) {
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
      if (*p == '-')
        f_minus = true;
      else if (*p == '+')
        f_plus = true;
      else if (*p == ' ')
        f_space = true;
      else if (*p == '#')
        f_hash = true;
      else if (*p == '0')
        f_zero = true;
      else
        break;
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
    if (names != nullptr && conv != 'd' && conv != 'i' && conv != 'u' &&
        conv != 'c' && conv != 'o' && PointerNames::LooksLikePointer(v)) {
      // "amap=0x%x" would otherwise read "amap=0xptr#1"
      if (out.size() >= 2 && out.compare(out.size() - 2, 2, "0x") == 0)
        out.resize(out.size() - 2);
      AppendPadded(out, names->Name(v), width, f_minus);
      continue;
    }
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

std::string FormatHistMessage(const char* fmt, const uint64_t args[4],
                              PointerNames* names) {
  return FormatMessage(fmt, args, names);
}

}  // namespace internal
}  // namespace uvmemu
