// A kernel mutex initialised for a test's lifetime.
#ifndef UVMEMU_TEST_TEST_MUTEX_H
#define UVMEMU_TEST_TEST_MUTEX_H

#include <sys/mutex.h>

namespace uvmemu::testing {

struct TestMutex {
  TestMutex() { mutex_init(&m, MUTEX_DEFAULT, IPL_NONE); }
  ~TestMutex() { mutex_destroy(&m); }
  TestMutex(const TestMutex&) = delete;
  TestMutex& operator=(const TestMutex&) = delete;
  kmutex_t m;
};

}  // namespace uvmemu::testing

#endif  // UVMEMU_TEST_TEST_MUTEX_H
