// Operations of the differential tests: what a process does to its
// memory, as raw numbers.  An Op names a kind and four selectors; the
// harness resolves them against the model's state when it runs the op
// (process = a % live processes, page near a mapped one, ...), so that any
// subsequence of a sequence is still a valid sequence: that is what lets
// the shrinker drop operations freely.
#ifndef UVMEMU_TEST_MODEL_OPS_H
#define UVMEMU_TEST_MODEL_OPS_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uvmemu::verify {

// Adding a kind: append it before kCount, give it a name in ops.cc and a
// weight in DefaultWeights(), and resolve and run it in harness.cc.
enum class OpKind : uint8_t {
  kMap,
  kUnmap,
  kProtect,
  kInherit,
  kWire,
  kUnwire,
  kFork,
  kExit,
  kRead,
  kWrite,
  kPageOut,  // memory pressure: contents must not change
  kSwapOff,  // swap-off of slots, then swap-on
  kCount
};
inline constexpr size_t kOpKinds = static_cast<size_t>(OpKind::kCount);

struct Op {
  OpKind kind = OpKind::kRead;
  uint32_t a = 0;  // which process
  uint32_t b = 0;  // which page (see Harness::Resolve)
  uint32_t c = 0;  // how many pages / bytes
  uint32_t d = 0;  // flags, protection, data seed
  bool operator==(const Op&) const = default;
};

// Relative frequencies of the kinds (0 disables a kind).
using Weights = std::array<int, kOpKinds>;
Weights DefaultWeights();
// Mostly forks, exits and writes: deep copy-on-write chains.
Weights ForkHeavyWeights();
// Fork-heavy with page-out and swap-off between the copy-on-write writes.
Weights PagingHeavyWeights();
// Ranges that split and merge entries all the time.
Weights SplitHeavyWeights();

const char* OpKindName(OpKind kind);
std::optional<OpKind> OpKindFromName(std::string_view name);

// `count` ops drawn from a SplitMix64 generator seeded with `seed`.
std::vector<Op> GenerateOps(uint64_t seed, size_t count, const Weights& w);

// Fuzzer input: 6 bytes per op (kind, a, b, c, d as 2 bytes); a trailing
// partial op is ignored.  Kinds with weight 0 are skipped.
std::vector<Op> DecodeOps(const uint8_t* data, size_t size, const Weights& w);
std::vector<uint8_t> EncodeOps(const std::vector<Op>& ops);

// "write 1 17 300 99; fork 0 0 0 0; ..." and back (for reproductions:
// UVMEMU_VERIFY_OPS, docs/verification.md).
std::string OpToString(const Op& op);
std::string OpsToString(const std::vector<Op>& ops);
std::optional<std::vector<Op>> ParseOps(std::string_view text);

// SplitMix64 (Steele, Lea, Flood 2014): small, fast, and the same
// everywhere, so a seed reproduces on any machine.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(Next() % n); }

 private:
  uint64_t state_;
};

}  // namespace uvmemu::verify

#endif  // UVMEMU_TEST_MODEL_OPS_H
