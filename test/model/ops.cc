#include "test/model/ops.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace uvmemu::verify {
namespace {

constexpr std::array<const char*, kOpKinds> kNames = {
    "map",  "unmap", "protect", "inherit", "wire",    "unwire",
    "fork", "exit",  "read",    "write",   "pageout", "swapoff"};

// The kinds with non-zero weight, each repeated by its weight.
std::vector<OpKind> Table(const Weights& w) {
  std::vector<OpKind> table;
  for (size_t k = 0; k < kOpKinds; k++)
    for (int i = 0; i < w[k]; i++) table.push_back(static_cast<OpKind>(k));
  return table;
}

}  // namespace

Weights DefaultWeights() {
  Weights w{};
  w[static_cast<size_t>(OpKind::kMap)] = 10;
  w[static_cast<size_t>(OpKind::kUnmap)] = 6;
  w[static_cast<size_t>(OpKind::kProtect)] = 7;
  w[static_cast<size_t>(OpKind::kInherit)] = 6;
  w[static_cast<size_t>(OpKind::kWire)] = 4;
  w[static_cast<size_t>(OpKind::kUnwire)] = 3;
  w[static_cast<size_t>(OpKind::kFork)] = 6;
  w[static_cast<size_t>(OpKind::kExit)] = 3;
  w[static_cast<size_t>(OpKind::kRead)] = 22;
  w[static_cast<size_t>(OpKind::kWrite)] = 30;
  w[static_cast<size_t>(OpKind::kPageOut)] = 5;
  w[static_cast<size_t>(OpKind::kSwapOff)] = 2;
  return w;
}

// Mostly forks, exits and writes: deep copy-on-write chains.
Weights ForkHeavyWeights() {
  Weights w{};
  w[static_cast<size_t>(OpKind::kMap)] = 4;
  w[static_cast<size_t>(OpKind::kUnmap)] = 2;
  w[static_cast<size_t>(OpKind::kProtect)] = 2;
  w[static_cast<size_t>(OpKind::kInherit)] = 4;
  w[static_cast<size_t>(OpKind::kWire)] = 2;
  w[static_cast<size_t>(OpKind::kUnwire)] = 1;
  w[static_cast<size_t>(OpKind::kFork)] = 12;
  w[static_cast<size_t>(OpKind::kExit)] = 10;
  w[static_cast<size_t>(OpKind::kRead)] = 10;
  w[static_cast<size_t>(OpKind::kWrite)] = 30;
  w[static_cast<size_t>(OpKind::kPageOut)] = 4;
  return w;
}

// Page-out and swap-off between copy-on-write writes: anons shared by
// several amaps go to swap and come back by fault and by swap-off.
Weights PagingHeavyWeights() {
  Weights w = ForkHeavyWeights();
  w[static_cast<size_t>(OpKind::kPageOut)] = 20;
  w[static_cast<size_t>(OpKind::kSwapOff)] = 8;
  return w;
}

// Ranges that split and merge entries all the time in a small span.
Weights SplitHeavyWeights() {
  Weights w = DefaultWeights();
  w[static_cast<size_t>(OpKind::kMap)] = 20;
  w[static_cast<size_t>(OpKind::kUnmap)] = 14;
  w[static_cast<size_t>(OpKind::kProtect)] = 14;
  w[static_cast<size_t>(OpKind::kInherit)] = 10;
  return w;
}

const char* OpKindName(OpKind kind) {
  const size_t k = static_cast<size_t>(kind);
  return k < kOpKinds ? kNames[k] : "?";
}

std::optional<OpKind> OpKindFromName(std::string_view name) {
  for (size_t k = 0; k < kOpKinds; k++)
    if (name == kNames[k]) return static_cast<OpKind>(k);
  return std::nullopt;
}

std::vector<Op> GenerateOps(uint64_t seed, size_t count, const Weights& w) {
  const std::vector<OpKind> table = Table(w);
  std::vector<Op> ops;
  if (table.empty()) return ops;
  SplitMix64 rng(seed);
  ops.reserve(count);
  for (size_t i = 0; i < count; i++) {
    Op op;
    op.kind = table[rng.Below(static_cast<uint32_t>(table.size()))];
    const uint64_t x = rng.Next(), y = rng.Next();
    op.a = static_cast<uint32_t>(x);
    op.b = static_cast<uint32_t>(x >> 32);
    op.c = static_cast<uint32_t>(y);
    op.d = static_cast<uint32_t>(y >> 32);
    ops.push_back(op);
  }
  return ops;
}

std::vector<Op> DecodeOps(const uint8_t* data, size_t size, const Weights& w) {
  const std::vector<OpKind> table = Table(w);
  std::vector<Op> ops;
  if (table.empty()) return ops;
  for (size_t i = 0; i + 6 <= size; i += 6) {
    Op op;
    op.kind = table[data[i] % table.size()];
    op.a = data[i + 1];
    op.b = data[i + 2];
    op.c = data[i + 3];
    op.d = data[i + 4] | (uint32_t{data[i + 5]} << 8);
    ops.push_back(op);
  }
  return ops;
}

std::vector<uint8_t> EncodeOps(const std::vector<Op>& ops) {
  // The inverse of DecodeOps with the default weights' table.
  const std::vector<OpKind> table = Table(DefaultWeights());
  std::vector<uint8_t> out;
  for (const Op& op : ops) {
    size_t k = 0;
    while (k < table.size() && table[k] != op.kind) k++;
    out.push_back(static_cast<uint8_t>(k));
    out.push_back(static_cast<uint8_t>(op.a));
    out.push_back(static_cast<uint8_t>(op.b));
    out.push_back(static_cast<uint8_t>(op.c));
    out.push_back(static_cast<uint8_t>(op.d));
    out.push_back(static_cast<uint8_t>(op.d >> 8));
  }
  return out;
}

std::string OpToString(const Op& op) {
  return absl::StrCat(OpKindName(op.kind), " ", op.a, " ", op.b, " ", op.c, " ",
                      op.d);
}

std::string OpsToString(const std::vector<Op>& ops) {
  return absl::StrJoin(ops, "; ", [](std::string* out, const Op& op) {
    out->append(OpToString(op));
  });
}

std::optional<std::vector<Op>> ParseOps(std::string_view text) {
  std::vector<Op> ops;
  const absl::string_view all(text.data(), text.size());
  for (absl::string_view item : absl::StrSplit(all, absl::ByAnyChar(";\n"))) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) continue;
    std::vector<absl::string_view> f =
        absl::StrSplit(item, ' ', absl::SkipEmpty());
    if (f.size() != 5) return std::nullopt;
    std::optional<OpKind> kind =
        OpKindFromName(std::string_view(f[0].data(), f[0].size()));
    if (!kind) return std::nullopt;
    Op op;
    op.kind = *kind;
    uint32_t* fields[] = {&op.a, &op.b, &op.c, &op.d};
    for (int i = 0; i < 4; i++) {
      const auto [p, ec] = std::from_chars(
          f[i + 1].data(), f[i + 1].data() + f[i + 1].size(), *fields[i]);
      if (ec != std::errc() || p != f[i + 1].data() + f[i + 1].size())
        return std::nullopt;
    }
    ops.push_back(op);
  }
  return ops;
}

}  // namespace uvmemu::verify
