// Sessions (uvmemu::Scheduler), the decision log, replay strings and
// Explore().
//
// A replay string is "uvmemu1:" and then one token per decision, joined
// by '.':
//   <step><kind><lid>[y]  at switch point <step> (kind b/e/m/p/s/x) LWP
//                         <lid> ran, with SPCF_SHOULDYIELD if 'y'
//   F<n>                  failure point <n> of the session failed
// A switch point is recorded when two or more LWPs could run or
// SHOULDYIELD was set; the others had only one candidate.  Following a
// replay, a switch point with a choice and no token, a token whose kind
// or LWP does not fit, or tokens left at the end is a divergence: it is
// reported with its step and the run goes on under FIFO.  Failure
// tokens are matched by failure point number, independently.
#include <sys/systm.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "emu/sched_core.h"
#include "emu/sched_hooks.h"
#include "uvmemu/scheduler.h"

namespace uvmemu {
namespace sched::internal {
namespace {

constexpr char kReplayPrefix[] = "uvmemu1:";

struct Token {
  bool failure = false;
  uint64_t n = 0;  // step, or failure point
  char kind = 0;
  int lid = 0;
  bool yield = false;
};

struct Session {
  ScheduleOptions opts;
  std::unique_ptr<Policy> owned;
  Policy* policy = nullptr;
  uint64_t id = 0;
  bool user = false;  // a Scheduler's (logged)
  uint64_t step = 0;
  uint64_t failure_points = 0;
  std::vector<Decision> decisions;
  std::string tokens;
  std::vector<Token> replay;  // switch-point tokens
  size_t pos = 0;
  std::vector<Token> replay_fail;  // failure tokens, by failure point
  size_t fpos = 0;
  bool replaying = false;
  std::string divergence;
};

Session& DefaultSession() {
  static Session* s = [] {
    auto* d = new Session;
    d->owned = MakeFifo();
    d->policy = d->owned.get();
    d->opts.max_steps = UINT64_MAX;
    return d;
  }();
  return *s;
}

Session* g_active = nullptr;
uint64_t g_next_id = 1;
Policy* g_next_policy = nullptr;  // Explore's DFS for the next Scheduler

Session& S() { return g_active != nullptr ? *g_active : DefaultSession(); }

std::string TokenText(const Token& t) {
  if (t.failure) return absl::StrCat("F", t.n);
  return absl::StrCat(t.n, std::string(1, t.kind), t.lid, t.yield ? "y" : "");
}

void AppendToken(Session& s, const Token& t) {
  if (!s.tokens.empty()) s.tokens += '.';
  s.tokens += TokenText(t);
}

// Parses a replay string; on error, the reason.
bool ParseReplay(const std::string& text, std::vector<Token>* out,
                 std::vector<Token>* fails, std::string* error) {
  if (text.rfind(kReplayPrefix, 0) != 0) {
    *error = absl::StrCat("replay string does not start with \"", kReplayPrefix,
                          "\"");
    return false;
  }
  const std::string body = text.substr(sizeof(kReplayPrefix) - 1);
  size_t i = 0;
  while (i < body.size()) {
    const size_t end = std::min(body.find('.', i), body.size());
    const std::string tok = body.substr(i, end - i);
    Token t;
    const char* p = tok.c_str();
    char* q = nullptr;
    if (*p == 'F') {
      t.failure = true;
      t.n = std::strtoull(p + 1, &q, 10);
    } else {
      t.n = std::strtoull(p, &q, 10);
      if (q == p || std::string("bempsx").find(*q) == std::string::npos ||
          *q == '\0') {
        *error = absl::StrCat("bad replay token \"", tok, "\"");
        return false;
      }
      t.kind = *q++;
      const char* lid = q;
      t.lid = static_cast<int>(std::strtol(lid, &q, 10));
      if (q == lid) q = const_cast<char*>(p);  // force the error below
      if (*q == 'y') {
        t.yield = true;
        q++;
      }
    }
    if (q == nullptr || *q != '\0' || q == p) {
      *error = absl::StrCat("bad replay token \"", tok, "\"");
      return false;
    }
    (t.failure ? fails : out)->push_back(t);
    i = end + 1;
  }
  return true;
}

void Diverge(Session& s, const std::string& why) {
  if (!s.divergence.empty()) return;
  s.divergence = why;
  s.replaying = false;
  std::fflush(stdout);
  std::fprintf(stderr, "uvmemu: %s; continuing under FIFO\n", why.c_str());
  std::fflush(stderr);
  s.owned = MakeFifo();
  s.policy = s.owned.get();
}

std::string LidList(const std::vector<Rec*>& cands) {
  std::string out;
  for (const Rec* r : cands)
    absl::StrAppend(&out, out.empty() ? "" : " ", r->l->l_lid);
  return out;
}

int YieldFor(Session& s, const Choice& c, size_t index) {
  const ScheduleOptions& o = s.opts;
  const uint64_t every = o.yield_every == 0 ? 1 : o.yield_every;
  switch (o.yield) {
    case YieldPolicy::kManual:
      return -1;
    case YieldPolicy::kNever:
      return 0;
    case YieldPolicy::kAlways:
      return 1;
    case YieldPolicy::kEveryN:
      return c.step % every == 0 ? 1 : -1;
    case YieldPolicy::kClock:
      return c.cur_runnable && index == 0 && c.cands.size() > 1 &&
                     c.cands[0]->run_steps + 1 >= every
                 ? 1
                 : -1;
    case YieldPolicy::kExplorer:
      return s.policy->Yield(c, index) ? 1 : -1;
  }
  return -1;
}

// The replayed decision at a switch point, or false after a divergence.
bool ReplayDecide(Session& s, const Choice& c, Verdict* v) {
  const Token* t = s.pos < s.replay.size() ? &s.replay[s.pos] : nullptr;
  if (t == nullptr || t->n != c.step) {
    if (c.cands.size() > 1) {
      Diverge(s, absl::StrFormat(
                     "replay diverged at step %d ('%c'): LWPs %s can run "
                     "but the replay recorded no choice here",
                     c.step, static_cast<char>(c.kind), LidList(c.cands)));
      return false;
    }
    *v = Verdict{0, -1};
    return true;
  }
  if (t->kind != static_cast<char>(c.kind)) {
    Diverge(s, absl::StrFormat("replay diverged at step %d: a '%c' switch "
                               "point where the replay has '%c' (token %s)",
                               c.step, static_cast<char>(c.kind), t->kind,
                               TokenText(*t)));
    return false;
  }
  for (size_t i = 0; i < c.cands.size(); i++) {
    if (c.cands[i]->l->l_lid == t->lid) {
      s.pos++;
      *v = Verdict{i, t->yield ? 1 : -1};
      return true;
    }
  }
  Diverge(s, absl::StrFormat("replay diverged at step %d ('%c'): the replay "
                             "runs LWP %d, but only LWPs %s can run",
                             c.step, static_cast<char>(c.kind), t->lid,
                             LidList(c.cands)));
  return false;
}

void CheckReplayEnd(Session& s) {
  if (s.replaying && s.pos < s.replay.size())
    Diverge(s, absl::StrFormat("replay diverged at step %d: the run ended "
                               "but the replay goes on (next token %s)",
                               s.step, TokenText(s.replay[s.pos])));
  if (s.replaying && s.fpos < s.replay_fail.size())
    Diverge(s, absl::StrFormat("replay diverged: the run met %d failure "
                               "points but the replay fails point %d",
                               s.failure_points, s.replay_fail[s.fpos].n));
}

}  // namespace

uint64_t NextStep() { return ++S().step; }

uint64_t MaxSteps() { return S().opts.max_steps; }

bool SessionActive() { return g_active != nullptr; }

bool QuietSwitchPoints() {
  const Session& s = S();
  return s.opts.yield == YieldPolicy::kManual && !s.replaying &&
         !s.policy->ObservesEveryStep();
}

Verdict Decide(const Choice& c) {
  Session& s = S();
  Verdict v{0, -1};
  if (!(s.replaying && ReplayDecide(s, c, &v))) {
    v.index = 0;
    if (c.cands.size() > 1)
      v.index = s.policy->Choose(c);
    else
      s.policy->Observe(c);
    v.yield = YieldFor(s, c, v.index);
  }
  if (s.user && (c.cands.size() > 1 || v.yield == 1)) {
    Decision d;
    d.step = c.step;
    d.kind = c.kind;
    d.lid = c.cands[v.index]->l->l_lid;
    for (const Rec* r : c.cands) d.runnable.push_back(r->l->l_lid);
    d.should_yield = v.yield == 1;
    s.decisions.push_back(d);
    AppendToken(s, Token{false, c.step, static_cast<char>(c.kind), d.lid,
                         d.should_yield});
  }
  return v;
}

}  // namespace sched::internal

namespace sched {

using internal::S;

bool FailureDecision(bool fail) {
  internal::Session& s = S();
  const uint64_t point = ++s.failure_points;
  if (s.replaying) {
    const internal::Token* t =
        s.fpos < s.replay_fail.size() ? &s.replay_fail[s.fpos] : nullptr;
    fail = t != nullptr && t->n == point;
    if (fail) s.fpos++;
  }
  if (fail && s.user) {
    Decision d;
    d.step = point;
    d.kind = Decision::Kind::kFailure;
    d.lid = curlwp != nullptr ? curlwp->l_lid : 0;
    s.decisions.push_back(d);
    internal::AppendToken(s, internal::Token{true, point, 0, 0, false});
  }
  return fail;
}

void PrintPanicNote(std::FILE* out) {
  const internal::Session& s = S();
  if (!s.user) return;
  std::fprintf(out,
               "--- schedule at step %" PRIu64
               " (replay with UVMEMU_REPLAY='%s%s') ---\n",
               s.step, internal::kReplayPrefix, s.tokens.c_str());
}

}  // namespace sched

// --- Scheduler --------------------------------------------------------------

using sched::internal::g_active;
using sched::internal::Session;

Scheduler::Scheduler(const ScheduleOptions& options) {
  if (g_active != nullptr)
    panic("uvmemu::Scheduler: a scheduling session is already active");
  if (curlwp != sched::Lwp0())
    panic("uvmemu::Scheduler: created by LWP %d; only lwp0 runs sessions",
          curlwp->l_lid);
  auto* s = new Session;
  s->opts = options;
  s->id = sched::internal::g_next_id++;
  s->user = true;
  if (sched::internal::g_next_policy != nullptr) {
    s->policy = std::exchange(sched::internal::g_next_policy, nullptr);
  } else {
    switch (options.policy) {
      case SchedPolicy::kFifo:
        s->owned = sched::internal::MakeFifo();
        break;
      case SchedPolicy::kRandom:
        s->owned = sched::internal::MakeRandom(options.seed);
        break;
      case SchedPolicy::kPct:
        s->owned = sched::internal::MakePct(options.seed, options.pct_depth,
                                            options.pct_steps);
        break;
      case SchedPolicy::kDfs:
        panic("uvmemu::Scheduler: the DFS policy runs only under Explore()");
    }
    s->policy = s->owned.get();
  }
  std::string replay = options.replay;
  if (replay.empty() && options.replay_from_env) {
    const char* env = std::getenv("UVMEMU_REPLAY");
    if (env != nullptr) replay = env;
  }
  if (!replay.empty()) {
    std::string error;
    if (sched::internal::ParseReplay(replay, &s->replay, &s->replay_fail,
                                     &error)) {
      s->replaying = true;
    } else {
      s->divergence = "UVMEMU_REPLAY: " + error;
    }
  }
  sched::internal::ResetLids();
  g_active = s;
  sched::internal::UpdateMutexFastPath();
}

Scheduler::~Scheduler() {
  Session* s = g_active;
  const int live = sched::internal::LiveLwps(s->id);
  if (live > 0)
    panic(
        "uvmemu::Scheduler: destroyed with %d LWP(s) that have not "
        "ended (call Run())",
        live);
  g_active = nullptr;
  sched::internal::UpdateMutexFastPath();
  delete s;
}

int Scheduler::Spawn(const std::string& name, std::function<void()> body) {
  Session* s = g_active;
  sched::internal::Rec* r =
      sched::internal::SpawnLwp(name, std::move(body), false, s->id);
  s->policy->OnSpawn(r);
  return r->l->l_lid;
}

namespace {

absl::Status RunSession(Session* s, bool last) {
  if (curlwp != sched::Lwp0())
    panic("uvmemu::Scheduler::Run: called by LWP %d, not lwp0", curlwp->l_lid);
  while (sched::internal::LiveLwps(s->id) > 0)
    sched::internal::Sleep(&sched::internal::AllLwps(), "lwpwait", 0, nullptr);
  if (last) sched::internal::CheckReplayEnd(*s);
  if (s->divergence.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(s->divergence);
}

}  // namespace

absl::Status Scheduler::Run() { return RunSession(g_active, /*last=*/true); }

absl::Status Scheduler::RunRound() {
  return RunSession(g_active, /*last=*/false);
}

void Scheduler::Settle() {
  if (curlwp != sched::Lwp0())
    panic("uvmemu::Scheduler::Settle: called by LWP %d, not lwp0",
          curlwp->l_lid);
  while (sched::internal::RunnableLwps() > 0) preempt();
}

std::string Scheduler::ReplayString() const {
  return sched::internal::kReplayPrefix + g_active->tokens;
}

const std::vector<Decision>& Scheduler::Decisions() const {
  return g_active->decisions;
}

std::string Scheduler::DecisionLog() const {
  std::string out;
  for (const Decision& d : g_active->decisions) {
    if (d.kind == Decision::Kind::kFailure) {
      absl::StrAppendFormat(
          &out, "failure point %d: injected failure (LWP %d)\n", d.step, d.lid);
      continue;
    }
    std::string runnable;
    for (int lid : d.runnable) absl::StrAppend(&runnable, " ", lid);
    absl::StrAppendFormat(&out, "step %d '%c': runnable%s -> LWP %d%s\n",
                          d.step, static_cast<char>(d.kind), runnable, d.lid,
                          d.should_yield ? " SHOULDYIELD" : "");
  }
  return out;
}

uint64_t Scheduler::Steps() const { return g_active->step; }

const std::string& Scheduler::Divergence() const {
  return g_active->divergence;
}

// --- Explore ----------------------------------------------------------------

ExploreResult Explore(const ExploreOptions& options,
                      const std::function<absl::Status(Scheduler&)>& body) {
  ExploreResult result;
  const char* env = std::getenv("UVMEMU_REPLAY");
  std::unique_ptr<sched::internal::DfsPolicy> dfs;
  if (options.policy == SchedPolicy::kDfs && env == nullptr)
    dfs = std::make_unique<sched::internal::DfsPolicy>(
        options.preemption_bound, options.yield == YieldPolicy::kExplorer);
  uint64_t pct_steps = options.pct_steps;
  for (uint64_t run = 0; run < options.max_runs; run++) {
    ScheduleOptions so;
    so.policy = options.policy == SchedPolicy::kDfs ? SchedPolicy::kFifo
                                                    : options.policy;
    so.seed = options.seed + run;
    so.pct_depth = options.pct_depth;
    so.pct_steps = pct_steps != 0 ? pct_steps : 100;
    so.yield = options.yield;
    so.yield_every = options.yield_every;
    so.replay_from_env = env != nullptr;
    if (dfs != nullptr) {
      dfs->BeginRun();
      sched::internal::g_next_policy = dfs.get();
    }
    absl::Status status;
    std::string replay;
    uint64_t steps = 0;
    {
      Scheduler s(so);
      status = body(s);
      replay = s.ReplayString();
      steps = s.Steps();
    }
    result.runs++;
    result.max_steps = std::max(result.max_steps, steps);
    if (pct_steps == 0) pct_steps = std::max<uint64_t>(steps, 1);
    if (!status.ok()) {
      result.failed = true;
      result.failure = std::string(status.message());
      result.replay = replay;
      if (options.print_failure) {
        std::fflush(stdout);
        std::fprintf(stderr,
                     "uvmemu: schedule %" PRIu64
                     " failed: %s\n"
                     "uvmemu: replay it with UVMEMU_REPLAY='%s'\n",
                     run + 1, result.failure.c_str(), replay.c_str());
      }
      return result;
    }
    if (env != nullptr) break;
    if (dfs != nullptr && !dfs->Advance()) {
      result.exhausted = true;
      break;
    }
  }
  return result;
}

}  // namespace uvmemu
