// The message of the kernel panic a call raises, for tests that check
// what a misuse reports without dying (uvmemu::ScopedPanicThrows).
#ifndef UVMEMU_TEST_PANIC_MESSAGE_H
#define UVMEMU_TEST_PANIC_MESSAGE_H

#include <string>

#include "uvmemu/panic.h"

namespace uvmemu::testing {

// Runs fn() with panics thrown and returns the panic's message, or ""
// when fn returns without one (so a check on the message fails).
template <class F>
std::string PanicMessage(F&& fn) {
  ScopedPanicThrows throws;
  try {
    fn();
  } catch (const KernelPanic& e) {
    return e.what();
  }
  return "";
}

}  // namespace uvmemu::testing

#endif  // UVMEMU_TEST_PANIC_MESSAGE_H
