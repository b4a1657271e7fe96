// Scheduling policies: FIFO run-to-block, seeded random, PCT and bounded
// exhaustive DFS.  All randomness is SplitMix64 from the session's seed.
#include <sys/systm.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "emu/sched_core.h"

namespace uvmemu::sched::internal {

uint64_t SplitMix64(uint64_t& state) {
  state += 0x9e3779b97f4a7c15ULL;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

namespace {

class Fifo : public Policy {
 public:
  size_t Choose(const Choice& c) override { return c.fifo; }
  bool Yield(const Choice&, size_t) override { return false; }
};

class Random : public Policy {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  size_t Choose(const Choice& c) override {
    return SplitMix64(state_) % c.cands.size();
  }
  bool Yield(const Choice&, size_t) override {
    return (SplitMix64(state_) >> 63) != 0;
  }

 private:
  uint64_t state_;
};

// Probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
// Nagarakatte 2010): random distinct priorities, the highest-priority
// runnable LWP runs, and at d - 1 random switch points the running LWP
// drops below every initial priority.  A bug of depth d is found with
// probability at least 1 / (n k^(d-1)) per run.  preempt() is a yield:
// the yielding LWP drops to the lowest priority, so a retry loop waiting
// for a lower-priority LWP makes progress.
class Pct : public Policy {
 public:
  Pct(uint64_t seed, int depth, uint64_t steps) : state_(seed), depth_(depth) {
    if (depth < 1) panic("PCT: depth %d < 1", depth);
    if (steps == 0) steps = 1;
    for (int i = 1; i < depth; i++)
      change_points_.push_back(1 + SplitMix64(state_) % steps);
  }
  void OnSpawn(Rec* r) override {
    r->priority =
        depth_ + 1 + static_cast<int64_t>(SplitMix64(state_) % 1'000'000'000);
  }
  // A change point is a step, whether or not another LWP could run
  // there: the LWP running it keeps the lowered priority until one can.
  bool ObservesEveryStep() const override { return true; }
  void Observe(const Choice& c) override { ChangePoint(c); }
  size_t Choose(const Choice& c) override {
    ChangePoint(c);
    Rec* cur = c.cur_runnable ? c.cands[0] : nullptr;
    if (cur != nullptr) {
      if (c.kind == Kind::kPreempt) {
        int64_t lowest = cur->priority;
        for (const Rec* r : c.cands) lowest = std::min(lowest, r->priority);
        cur->priority = lowest - 1;
      }
    }
    size_t best = 0;
    for (size_t i = 1; i < c.cands.size(); i++)
      if (c.cands[i]->priority > c.cands[best]->priority) best = i;
    return best;
  }
  bool Yield(const Choice&, size_t) override {
    return (SplitMix64(state_) >> 63) != 0;
  }

 private:
  void ChangePoint(const Choice& c) {
    if (!c.cur_runnable) return;
    for (size_t i = 0; i < change_points_.size(); i++)
      if (change_points_[i] == c.step)
        c.cands[0]->priority = static_cast<int64_t>(i) + 1;
  }

  uint64_t state_;
  int depth_;
  std::vector<uint64_t> change_points_;
};

}  // namespace

std::unique_ptr<Policy> MakeFifo() { return std::make_unique<Fifo>(); }

std::unique_ptr<Policy> MakeRandom(uint64_t seed) {
  return std::make_unique<Random>(seed);
}

std::unique_ptr<Policy> MakePct(uint64_t seed, int depth, uint64_t steps) {
  return std::make_unique<Pct>(seed, depth, steps);
}

// --- DFS ------------------------------------------------------------------

DfsPolicy::DfsPolicy(int preemption_bound, bool branch_yield)
    : bound_(preemption_bound), branch_yield_(branch_yield) {}

void DfsPolicy::BeginRun() { depth_ = 0; }

size_t DfsPolicy::Take(std::vector<int> lids, std::vector<size_t> order,
                       std::vector<int> cost) {
  if (depth_ < nodes_.size()) {
    Node& n = nodes_[depth_++];
    if (n.lids != lids)
      panic(
          "DFS: choice point %zu differs from the previous run's (the "
          "test body is not deterministic)",
          depth_);
    return n.order[n.pos];
  }
  int spent = 0;
  if (!nodes_.empty())
    spent = nodes_.back().spent_before + nodes_.back().cost[nodes_.back().pos];
  Node n;
  n.lids = std::move(lids);
  n.order = std::move(order);
  n.cost = std::move(cost);
  n.spent_before = spent;
  nodes_.push_back(std::move(n));
  depth_++;
  return nodes_.back().order[0];
}

size_t DfsPolicy::Choose(const Choice& c) {
  std::vector<int> lids;
  for (const Rec* r : c.cands) lids.push_back(r->l->l_lid);
  std::vector<size_t> order = {c.fifo};
  for (size_t i = 0; i < c.cands.size(); i++)
    if (i != c.fifo) order.push_back(i);
  // A preemption is taking the CPU from an LWP that could go on
  // (mutex_enter, mutex_exit), or not yielding at preempt(); choices among
  // waiting LWPs when the current one blocks are free.
  std::vector<int> cost;
  for (size_t i : order) {
    int k = 0;
    if (i != c.fifo && c.cur_runnable &&
        (c.kind == Kind::kMutexExit || c.kind == Kind::kEnter
             ? i != 0
             : c.kind == Kind::kPreempt && i == 0))
      k = 1;
    cost.push_back(k);
  }
  return Take(std::move(lids), std::move(order), std::move(cost));
}

bool DfsPolicy::Yield(const Choice&, size_t) {
  if (!branch_yield_) return false;
  return Take({-1, -2}, {0, 1}, {0, 1}) == 1;
}

bool DfsPolicy::Advance() {
  nodes_.resize(std::min(nodes_.size(), depth_));
  while (!nodes_.empty()) {
    Node& n = nodes_.back();
    for (size_t p = n.pos + 1; p < n.order.size(); p++) {
      if (n.spent_before + n.cost[p] <= bound_) {
        n.pos = p;
        return true;
      }
    }
    nodes_.pop_back();
  }
  return false;
}

}  // namespace uvmemu::sched::internal
