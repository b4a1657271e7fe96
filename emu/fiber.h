// Fibers: execution contexts on mmap'd stacks, switched by hand-written
// code (x86-64, aarch64; ucontext elsewhere), with the AddressSanitizer
// fiber annotations so that ASan follows the switches.
#ifndef UVMEMU_EMU_FIBER_H
#define UVMEMU_EMU_FIBER_H

#include <cstddef>

#if defined(__x86_64__) || defined(__aarch64__)
#define UVMEMU_FIBER_ASM 1
#else
#include <ucontext.h>
#endif

namespace uvmemu::fiber {

// An execution context.  The thread's original context (lwp0) is a
// Context with no stack of its own; it is filled in when it first
// switches away.
struct Context {
#if defined(UVMEMU_FIBER_ASM)
  void* sp = nullptr;  // saved stack pointer (registers are on the stack)
#else
  ucontext_t uc;
  void (*start_entry)(void*) = nullptr;
  void* start_arg = nullptr;
#endif
  // The stack this context runs on (what ASan is told at a switch).
  const void* stack_bottom = nullptr;
  size_t stack_size = 0;
  void* asan_fake_stack = nullptr;
  // The mmap'd stack of a fiber (nullptr for the thread's own context).
  char* mapping = nullptr;
  size_t mapping_bytes = 0;
};

// Usable bytes of a fiber stack (below it, one PROT_NONE guard page).
inline constexpr size_t kStackBytes = size_t{512} << 10;

// Gives `ctx` a stack (from a pool of released ones) and arranges that
// the first switch to it calls entry(arg) there.  entry must never
// return: it ends by switching away with `exiting` set.
void Make(Context& ctx, void (*entry)(void*), void* arg);
// Returns ctx's stack to the pool.  Not while running on it.
void Release(Context& ctx);

// Saves the running context in `from` and resumes `to`; returns when
// something switches back to `from`.  `exiting`: `from` will never be
// resumed (ASan drops its fake stack).
void Switch(Context& from, Context& to, bool exiting);
// The first thing a new fiber's entry function must call.
void Started();

}  // namespace uvmemu::fiber

#endif  // UVMEMU_EMU_FIBER_H
