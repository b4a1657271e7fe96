// panic() and KASSERT failures (sys/systm.h), and ScopedPanicThrows
// (include/uvmemu/panic.h).
//
// By default a panic writes to stderr
//
//   panic: <message>
//   lwp 1 (lwp0), 2 mutexes held
//   --- last 16 UVMHIST records, oldest first ---
//   #41 lwp1 amap_alloc: <- done, amap = 0x5555, sz=4096
//   ...
//   --- host backtrace ---
//   <backtrace_symbols_fd output>
//
// and aborts.  A panic raised while that is being printed aborts at once.
// Under ScopedPanicThrows the panic instead throws uvmemu::KernelPanic
// with the message and prints nothing.
#include "uvmemu/panic.h"

#include <execinfo.h>
#include <sys/lwp.h>
#include <sys/systm.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "emu/sched_hooks.h"
#include "uvmemu/trace.h"

namespace {

bool g_panic_throws = false;
bool g_panicking = false;

constexpr size_t kTraceTail = 16;

std::string VFormat(const char* fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  char small[256];
  int n = std::vsnprintf(small, sizeof small, fmt, ap);
  std::string s;
  if (n < 0) {
    s = fmt;  // unformattable: show the format itself
  } else if (static_cast<size_t>(n) < sizeof small) {
    s.assign(small, static_cast<size_t>(n));
  } else {
    s.resize(static_cast<size_t>(n) + 1);
    std::vsnprintf(s.data(), s.size(), fmt, ap2);
    s.resize(static_cast<size_t>(n));
  }
  va_end(ap2);
  return s;
}

[[noreturn]] void Panic(const std::string& msg) {
  if (g_panicking) {
    std::fprintf(stderr, "panic: recursive panic: %s\n", msg.c_str());
    std::fflush(stderr);
    std::abort();
  }
  if (g_panic_throws) throw uvmemu::KernelPanic(msg);
  g_panicking = true;

  std::fflush(stdout);
  std::fprintf(stderr, "panic: %s\n", msg.c_str());
  if (curlwp != nullptr) {
    std::fprintf(stderr, "lwp %d (%s), %d mutex%s held\n", curlwp->l_lid,
                 curlwp->l_name != nullptr ? curlwp->l_name : "?",
                 curlwp->l_nlocks, curlwp->l_nlocks == 1 ? "" : "es");
  }
  uvmemu::sched::PrintPanicNote(stderr);
  std::fprintf(stderr, "--- last %zu UVMHIST records, oldest first ---\n",
               kTraceTail);
  std::fflush(stderr);
  if (uvmemu::Trace::Tail(kTraceTail).empty()) {
    std::fprintf(stderr, "(none)\n");
  } else {
    uvmemu::Trace::Print(std::cerr, kTraceTail);
    std::cerr.flush();
  }
  std::fprintf(stderr, "--- host backtrace ---\n");
  std::fflush(stderr);
  void* frames[64];
  int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  std::abort();
}

}  // namespace

void panic(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string msg = VFormat(fmt, ap);
  va_end(ap);
  Panic(msg);
}

void kern_assert_failed(const char* expr, const char* file, int line,
                        const char* func) {
  panic(
      "kernel diagnostic assertion \"%s\" failed: file \"%s\", line %d, "
      "function %s",
      expr, file, line, func);
}

namespace uvmemu {

ScopedPanicThrows::ScopedPanicThrows() : previous_(g_panic_throws) {
  g_panic_throws = true;
}

ScopedPanicThrows::~ScopedPanicThrows() { g_panic_throws = previous_; }

}  // namespace uvmemu
