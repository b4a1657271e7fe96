// Page contents derived from a seed, for tests that check every byte of
// pages that are copied, shared, paged out and back.
#ifndef UVMEMU_TEST_PAGE_PATTERN_H
#define UVMEMU_TEST_PAGE_PATTERN_H

#include <cstdint>
#include <string>

namespace uvmemu::testing {

// A whole 4 KiB page of bytes derived from `seed`: any byte copied
// wrongly or lost shows.
inline std::string PagePattern(int seed) {
  std::string s(4096, '\0');
  uint32_t x = 2166136261u ^ static_cast<uint32_t>(seed);
  for (char& c : s) {
    x = x * 16777619u + 0x9e3779b9u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

}  // namespace uvmemu::testing

#endif  // UVMEMU_TEST_PAGE_PATTERN_H
