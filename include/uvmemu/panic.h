// How the emulated kernel reports a panic or a failed KASSERT.
//
// By default a panic prints the message, the location, the tail of the
// UVMHIST ring and a host backtrace, then aborts: exactly what a kernel
// developer expects, and what GoogleTest death tests match against.
// ScopedPanicThrows makes panics throw uvmemu::KernelPanic instead, for
// tests that want to inspect the message in-process.  Kernel state after
// a thrown panic is as the panic left it; such tests should not continue
// to use the objects involved.
#ifndef UVMEMU_PANIC_H
#define UVMEMU_PANIC_H

#include <stdexcept>
#include <string>

namespace uvmemu {

class KernelPanic : public std::runtime_error {
 public:
  explicit KernelPanic(const std::string& message)
      : std::runtime_error(message) {}
};

class ScopedPanicThrows {
 public:
  ScopedPanicThrows();
  ~ScopedPanicThrows();
  ScopedPanicThrows(const ScopedPanicThrows&) = delete;
  ScopedPanicThrows& operator=(const ScopedPanicThrows&) = delete;

 private:
  bool previous_;
};

}  // namespace uvmemu

#endif  // UVMEMU_PANIC_H
