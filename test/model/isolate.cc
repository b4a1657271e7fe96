// RunIsolated, Shrink and FailureReport (test/model/harness.h).
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "test/model/harness.h"

namespace uvmemu::verify {
namespace {

// Schedule seeds each shrinking candidate is tried under (seed, seed + 1,
// ...) when the ops run as LWPs.
constexpr int kShrinkSeeds = 4;

// RunResult through a pipe: numbers and length-prefixed strings.
void PutNumber(std::string* out, uint64_t n) {
  out->append(reinterpret_cast<const char*>(&n), sizeof(n));
}
void PutString(std::string* out, const std::string& s) {
  PutNumber(out, s.size());
  out->append(s);
}
bool GetNumber(std::string_view* in, uint64_t* n) {
  if (in->size() < sizeof(*n)) return false;
  std::memcpy(n, in->data(), sizeof(*n));
  in->remove_prefix(sizeof(*n));
  return true;
}
bool GetString(std::string_view* in, std::string* s) {
  uint64_t n;
  if (!GetNumber(in, &n) || in->size() < n) return false;
  s->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}

std::string Serialize(const RunResult& r) {
  std::string out;
  PutNumber(&out, r.ok);
  PutNumber(&out, r.steps);
  PutNumber(&out, r.failed_op);
  PutNumber(&out, r.failure_points);
  PutNumber(&out, r.failures_injected);
  PutNumber(&out, r.rounds);
  PutNumber(&out, r.concurrent_rounds);
  PutNumber(&out, r.interleaved_rounds);
  PutNumber(&out, r.preemptions);
  PutNumber(&out, r.switch_points);
  PutNumber(&out, r.busy_swapoffs);
  PutNumber(&out, r.daemon_runs);
  PutNumber(&out, r.page_outs);
  PutNumber(&out, r.page_ins);
  PutString(&out, r.message);
  PutString(&out, r.dump);
  PutString(&out, r.replay);
  PutNumber(&out, r.log.size());
  for (const std::string& s : r.log) PutString(&out, s);
  return out;
}

bool Deserialize(std::string_view in, RunResult* r) {
  uint64_t ok, steps, failed, points, injected, nlog;
  if (!GetNumber(&in, &ok) || !GetNumber(&in, &steps) ||
      !GetNumber(&in, &failed) || !GetNumber(&in, &points) ||
      !GetNumber(&in, &injected) || !GetNumber(&in, &r->rounds) ||
      !GetNumber(&in, &r->concurrent_rounds) ||
      !GetNumber(&in, &r->interleaved_rounds) ||
      !GetNumber(&in, &r->preemptions) || !GetNumber(&in, &r->switch_points) ||
      !GetNumber(&in, &r->busy_swapoffs) || !GetNumber(&in, &r->daemon_runs) ||
      !GetNumber(&in, &r->page_outs) || !GetNumber(&in, &r->page_ins) ||
      !GetString(&in, &r->message) || !GetString(&in, &r->dump) ||
      !GetString(&in, &r->replay) || !GetNumber(&in, &nlog))
    return false;
  r->ok = ok != 0;
  r->steps = steps;
  r->failed_op = failed;
  r->failure_points = points;
  r->failures_injected = injected;
  r->log.resize(nlog);
  for (std::string& s : r->log)
    if (!GetString(&in, &s)) return false;
  return in.empty();
}

void WriteAll(int fd, const std::string& s) {
  for (size_t done = 0; done < s.size();) {
    const ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

RunResult RunIsolated(const std::vector<Op>& ops, const HarnessConfig& config,
                      const RunOptions& options) {
  // The child's progress survives its crash.
  void* shared = mmap(nullptr, sizeof(size_t), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) {
    RunResult r;
    r.ok = false;
    r.message = "mmap for the child's progress failed";
    return r;
  }
  auto* progress = static_cast<volatile size_t*>(shared);
  *progress = 0;
  int fds[2];
  if (pipe(fds) != 0) {
    munmap(shared, sizeof(size_t));
    RunResult r;
    r.ok = false;
    r.message = "pipe failed";
    return r;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    // Never outlive the parent, nor hang for ever.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(options.timeout_seconds);
    if (options.quiet) {
      const int null = open("/dev/null", O_WRONLY);
      if (null >= 0) {
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
      }
    }
    const RunResult r = RunOps(ops, config, options, progress);
    WriteAll(fds[1], Serialize(r));
    // No destructors, no leak checks: the kernel may be corrupt.
    _exit(0);
  }
  close(fds[1]);
  const std::string blob = pid > 0 ? ReadAll(fds[0]) : std::string();
  close(fds[0]);
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  RunResult r;
  const size_t at = *progress;
  munmap(shared, sizeof(size_t));
  if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
      Deserialize(blob, &r))
    return r;
  r = RunResult();
  r.ok = false;
  r.failed_op = at;
  r.steps = at + 1;
  if (pid < 0)
    r.message = "fork failed";
  else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
    r.message = absl::StrFormat(
        "the run hung: still running op %d after %d s (an infinite loop?)", at,
        options.timeout_seconds);
  else if (WIFSIGNALED(status))
    r.message = absl::StrFormat(
        "the run died of signal %d (%s) during op %d (a panic or KASSERT: "
        "see its message above)",
        WTERMSIG(status), strsignal(WTERMSIG(status)), at);
  else
    r.message = absl::StrFormat("the run exited with status %d during op %d",
                                WEXITSTATUS(status), at);
  return r;
}

std::vector<Op> Shrink(const std::vector<Op>& ops,
                       const std::function<bool(const std::vector<Op>&)>& fails,
                       size_t max_tests) {
  std::vector<Op> cur = ops;
  size_t n = 2, tests = 0;
  while (cur.size() >= 2 && tests < max_tests) {
    n = std::min(n, cur.size());
    std::vector<std::pair<size_t, size_t>> chunks;  // [begin, end)
    for (size_t i = 0; i < n; i++)
      chunks.emplace_back(cur.size() * i / n, cur.size() * (i + 1) / n);
    bool reduced = false;
    // A chunk alone (with two chunks, each complement is the other chunk).
    for (size_t i = 0; n > 2 && i < n && !reduced && tests < max_tests; i++) {
      std::vector<Op> sub(cur.begin() + static_cast<long>(chunks[i].first),
                          cur.begin() + static_cast<long>(chunks[i].second));
      tests++;
      if (fails(sub)) {
        cur = std::move(sub);
        n = 2;
        reduced = true;
      }
    }
    // Everything but a chunk.
    for (size_t i = 0; i < n && !reduced && tests < max_tests; i++) {
      std::vector<Op> sub(cur.begin(),
                          cur.begin() + static_cast<long>(chunks[i].first));
      sub.insert(sub.end(), cur.begin() + static_cast<long>(chunks[i].second),
                 cur.end());
      tests++;
      if (fails(sub)) {
        cur = std::move(sub);
        n = std::max<size_t>(n - 1, 2);
        reduced = true;
      }
    }
    if (!reduced) {
      if (n >= cur.size()) break;
      n = std::min(2 * n, cur.size());
    }
  }
  return cur;
}

std::string FailureReport(const std::vector<Op>& ops,
                          const HarnessConfig& config,
                          const RunOptions& options, const RunResult& failed,
                          std::optional<uint64_t> seed) {
  std::string out;
  if (seed) absl::StrAppendFormat(&out, "seed %d: ", *seed);
  absl::StrAppendFormat(&out, "divergence at op %d of %d: %s\n",
                        failed.failed_op, ops.size(), failed.message);
  if (options.schedule)
    absl::StrAppendFormat(
        &out, "ops as LWPs, schedule %s%s; the failing run's replay: %s\n",
        ScheduleName(*options.schedule),
        options.schedule->replay.empty() ? "" : " (following a replay)",
        failed.replay.empty() ? std::string("(in the panic message above)")
        : failed.replay.size() > 4000
            ? absl::StrFormat("%d characters, left out (the "
                              "shrunk run's is below)",
                              failed.replay.size())
            : failed.replay);
  // Ops after the failing one play no part.
  std::vector<Op> prefix(ops.begin(),
                         ops.begin() + static_cast<long>(std::min(
                                           ops.size(), failed.failed_op + 1)));
  size_t replays = 0;
  const auto start = std::chrono::steady_clock::now();
  RunOptions quiet = options;
  quiet.quiet = true;
  quiet.keep_log = false;
  // A subsequence makes other decisions: each candidate runs under the
  // policy and seed, not a replay.
  if (quiet.schedule) {
    quiet.schedule->replay.clear();
    quiet.schedule->replay_from_env = false;
  }
  // A replay of a prefix takes no longer than the whole failing run.
  quiet.timeout_seconds = std::min(options.timeout_seconds, 30u);
  // A race needs its schedule, and a subsequence makes other decisions
  // under the same seed: a candidate fails if it fails under one of a
  // few seeds (the seed it failed under goes on with it).
  const int seeds = quiet.schedule ? kShrinkSeeds : 1;
  auto fails = [&](const std::vector<Op>& sub) {
    for (int i = 0; i < seeds; i++) {
      // Shrinking stops after five minutes: the best so far is reported.
      if (std::chrono::steady_clock::now() - start > std::chrono::minutes(5))
        return false;
      RunOptions o = quiet;
      if (o.schedule) o.schedule->seed = quiet.schedule->seed + i;
      replays++;
      if (!RunIsolated(sub, config, o).ok) {
        if (i > 0) quiet = o;
        return true;
      }
    }
    return false;
  };
  const std::vector<Op> shrunk = Shrink(prefix, fails);
  RunOptions logged = quiet;
  logged.keep_log = true;
  const RunResult last = RunIsolated(shrunk, config, logged);
  absl::StrAppendFormat(
      &out, "shrunk to %d ops (%d replays)%s:\n", shrunk.size(), replays,
      last.ok ? " [the shrunk sequence no longer fails!]" : "");
  for (size_t i = 0; i < shrunk.size(); i++)
    absl::StrAppendFormat(&out, "  %3d: %-36s %s\n", i, OpToString(shrunk[i]),
                          i < last.log.size() ? last.log[i] : "");
  absl::StrAppendFormat(&out, "failure of the shrunk sequence: %s\n",
                        last.message);
  std::string env;
  if (options.schedule) {
    env = absl::StrFormat(" UVMEMU_VERIFY_LWPS=%s",
                          ScheduleArg(*logged.schedule));
    absl::StrAppendFormat(
        &out, "the shrunk run's schedule: %s, %s\n",
        ScheduleName(*logged.schedule),
        last.replay.empty() ? "(in its panic message)" : last.replay);
  }
  absl::StrAppendFormat(
      &out,
      "replay: UVMEMU_VERIFY_OPS='%s'%s ./build/default/uvmemu_tests "
      "--gtest_filter='VerifyReplay.*'\n",
      OpsToString(shrunk), env);
  if (options.schedule && !last.replay.empty())
    absl::StrAppendFormat(&out,
                          "(the same schedule, decision by decision: add "
                          "UVMEMU_REPLAY='%s')\n",
                          last.replay);
  if (options.plan)
    absl::StrAppendFormat(&out,
                          "(with failure plan: fail_nth %d, probability %g, "
                          "seed %d; UVMEMU_VERIFY_FAIL_NTH=%d)\n",
                          options.plan->fail_nth, options.plan->probability,
                          options.plan->seed, options.plan->fail_nth);
  absl::StrAppendFormat(&out, "structure dump at the failure:\n%s",
                        last.dump.empty() ? failed.dump : last.dump);
  return out;
}

}  // namespace uvmemu::verify
