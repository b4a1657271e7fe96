// The scheduler's core: LWP records, the run queue, sleep queues, the
// virtual clock, switch points and the deadlock report.
//
// Everything runs on one host thread.  An LWP leaves the CPU only at a
// switch point; there the candidates are the current LWP (if it can go
// on) followed by the run queue in FIFO order, and the session's policy
// (emu/sched_session.cc) picks one.  Wait channels are compared for
// equality only and every list is kept in an order the run itself
// determines (spawn, block and sleep order), so no decision depends on
// an address.
#include <sys/condvar.h>
#include <sys/lwp.h>
#include <sys/proc.h>
#include <sys/systm.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "emu/sched_core.h"
#include "emu/sched_hooks.h"

int uvmemu_mutex_fast = 1;

extern "C" {
struct lwp** uvmemu_lwps = nullptr;
int uvmemu_nlwps = 0;
}

namespace uvmemu::sched {
namespace internal {
namespace {

struct Core {
  Rec lwp0;
  bool lwp0_ready = false;
  std::vector<std::unique_ptr<Rec>> owned;  // spawned records
  std::vector<Rec*> all;                    // lid order, lwp0 first
  std::deque<Rec*> runq;
  std::vector<Rec*> sleepers;       // sleep order
  std::vector<Rec*> mutex_waiters;  // block order
  std::vector<std::pair<const void*, const char*>> channel_names;
  Rec* dead = nullptr;  // ended; its stack is released by the next LWP
  int next_lid = 2;
  uint64_t ticks = 0;
  std::vector<Rec*> cands;        // scratch
  std::vector<struct lwp*> lwps;  // uvmemu_lwps points into it
};

Core& C() {
  static Core* core = new Core;  // outlives every static destructor
  return *core;
}

// Republishes c.all as uvmemu_lwps/uvmemu_nlwps after it changed.
void PublishLwps(Core& c) {
  c.lwps.clear();
  for (const Rec* r : c.all) c.lwps.push_back(r->l);
  uvmemu_lwps = c.lwps.data();
  uvmemu_nlwps = static_cast<int>(c.lwps.size());
  UpdateMutexFastPath();
}

Rec* Lwp0Rec() {
  Core& c = C();
  if (!c.lwp0_ready) {
    c.lwp0.l = Lwp0();
    c.lwp0.name = "lwp0";
    c.lwp0.state = State::kRunning;
    Lwp0()->l_sched = &c.lwp0;
    c.all.insert(c.all.begin(), &c.lwp0);
    PublishLwps(c);
    c.lwp0_ready = true;
  }
  return &c.lwp0;
}

int Lid(const struct lwp* l) { return l != nullptr ? l->l_lid : 0; }

const char* ChannelName(const void* wchan, char* buf, size_t len) {
  for (const auto& [chan, name] : C().channel_names)
    if (chan == wchan) return name;
  std::snprintf(buf, len, "%p", wchan);
  return buf;
}

const char* StateName(const Rec* r) {
  switch (r->state) {
    case State::kRunning:
      return "running";
    case State::kRunnable:
      return "runnable";
    case State::kSleeping:
      return "sleeping";
    case State::kMutexWait:
      return "waiting for a mutex";
    case State::kExited:
      return "exited";
  }
  return "?";
}

// The report printed before a deadlock panic.
void PrintLwps(std::FILE* out) {
  Core& c = C();
  std::fprintf(out, "--- LWPs at virtual tick %llu ---\n",
               static_cast<unsigned long long>(c.ticks));
  for (const Rec* r : c.all) {
    char buf[32];
    std::fprintf(out, "LWP %d (%s)%s: %s", r->l->l_lid, r->name.c_str(),
                 r->kernel_thread ? " [kernel thread]" : "", StateName(r));
    if (r->state == State::kSleeping) {
      std::fprintf(out, " on %s, wmesg \"%s\"",
                   ChannelName(r->l->l_wchan, buf, sizeof buf),
                   r->l->l_wmesg != nullptr ? r->l->l_wmesg : "");
      if (r->wake_at != 0)
        std::fprintf(out, ", until tick %llu",
                     static_cast<unsigned long long>(r->wake_at));
    }
    if (r->state == State::kMutexWait) {
      std::fprintf(out, " %p held by LWP %d",
                   static_cast<const void*>(r->waiting_mutex),
                   Lid(r->waiting_mutex->mtx_owner));
    }
    std::fprintf(out, "\n  holds:");
    const int unlisted = r->l->l_nlocks - static_cast<int>(r->held.size());
    if (r->held.empty() && unlisted <= 0) std::fprintf(out, " nothing");
    for (const kmutex_t* m : r->held) {
      std::fprintf(out, " mutex %p", static_cast<const void*>(m));
      const int waiters = m->mtx_waiters;
      if (waiters > 0) std::fprintf(out, " (%d waiting)", waiters);
    }
    if (unlisted > 0)
      std::fprintf(out, " %d mutex%s taken while lwp0 ran alone", unlisted,
                   unlisted == 1 ? "" : "es");
    std::fprintf(out, "\n");
  }
  std::fflush(out);
}

[[noreturn]] void Deadlock(Rec* cur) {
  Core& c = C();
  char buf[32];
  std::string headline;
  if (cur->state == State::kExited) {
    char line[160];
    std::snprintf(line, sizeof line,
                  "deadlock: LWP %d ended and no other LWP can run",
                  cur->l->l_lid);
    headline = line;
  } else if (cur->state == State::kMutexWait) {
    char line[160];
    std::snprintf(line, sizeof line,
                  "deadlock: mutex %p held by LWP %d, no other LWP can run",
                  static_cast<const void*>(cur->waiting_mutex),
                  Lid(cur->waiting_mutex->mtx_owner));
    headline = line;
  } else {
    char line[256];
    std::snprintf(line, sizeof line,
                  "deadlock: %s: LWP %d sleeping on %s, no other LWP can run",
                  cur->l->l_wmesg != nullptr ? cur->l->l_wmesg : "?",
                  cur->l->l_lid, ChannelName(cur->l->l_wchan, buf, sizeof buf));
    headline = line;
  }
  std::fflush(stdout);
  std::fprintf(stderr, "%s\n", headline.c_str());
  PrintLwps(stderr);
  // Leave the current LWP running, so that a panic thrown to a test
  // (ScopedPanicThrows) finds a consistent scheduler.
  if (cur->state == State::kMutexWait) {
    auto& w = c.mutex_waiters;
    w.erase(std::remove(w.begin(), w.end(), cur), w.end());
    const_cast<kmutex_t*>(cur->waiting_mutex)->mtx_waiters--;
    cur->waiting_mutex = nullptr;
  } else if (cur->state == State::kSleeping) {
    auto& s = c.sleepers;
    s.erase(std::remove(s.begin(), s.end(), cur), s.end());
    cur->l->l_wchan = nullptr;
    cur->l->l_wmesg = nullptr;
  }
  if (cur->state != State::kExited) cur->state = State::kRunning;
  panic("%s", headline.c_str());
}

void MakeRunnable(Rec* r) {
  r->state = State::kRunnable;
  C().runq.push_back(r);
}

// Nothing can run: wake the sleepers whose timeout comes first.
bool AdvanceClock() {
  Core& c = C();
  uint64_t next = 0;
  for (const Rec* r : c.sleepers)
    if (r->wake_at != 0 && (next == 0 || r->wake_at < next)) next = r->wake_at;
  if (next == 0) return false;
  c.ticks = next;
  std::vector<Rec*> keep;
  for (Rec* r : c.sleepers) {
    if (r->wake_at != 0 && r->wake_at <= c.ticks) {
      r->timed_out = true;
      r->wake_at = 0;
      r->l->l_wchan = nullptr;
      r->l->l_wmesg = nullptr;
      MakeRunnable(r);
    } else {
      keep.push_back(r);
    }
  }
  c.sleepers = std::move(keep);
  return true;
}

void Reap() {
  Core& c = C();
  Rec* dead = c.dead;
  if (dead == nullptr) return;
  c.dead = nullptr;
  fiber::Release(dead->ctx);
  c.all.erase(std::remove(c.all.begin(), c.all.end(), dead), c.all.end());
  PublishLwps(c);
  auto it = std::find_if(c.owned.begin(), c.owned.end(),
                         [dead](const auto& p) { return p.get() == dead; });
  c.owned.erase(it);
}

// Runs on arrival in an LWP (after a switch, or at a fiber's start).
void Arrived(Rec* self) {
  AltStackArrived(self);
  Reap();
}

void SwitchTo(Rec* from, Rec* to) {
  const bool exiting = from->state == State::kExited;
  AltStackLeaving(from);
  to->state = State::kRunning;
  to->run_steps = 0;
  curlwp = to->l;
  fiber::Switch(from->ctx, to->ctx, exiting);
  Arrived(from);
}

[[noreturn]] void EndCurrent(Rec* self) {
  Core& c = C();
  if (!self->held.empty())
    panic("LWP %d (%s) ended holding %zu mutex(es), the first %p",
          self->l->l_lid, self->name.c_str(), self->held.size(),
          static_cast<const void*>(self->held.front()));
  self->body = nullptr;  // its captures die here, on its own stack
  self->state = State::kExited;
  c.dead = self;
  // StopKernelThread waits on the record, Scheduler::Run on c.all until
  // the session's last LWP has ended (woken only then, so that waking
  // adds no choice points).
  Wakeup(self, false);
  if (!self->kernel_thread && LiveLwps(self->session) == 0)
    Wakeup(&c.all, false);
  SwitchPoint(Kind::kExit);
  panic("LWP %d resumed after it ended", self->l->l_lid);
}

void FiberMain(void* arg) {
  fiber::Started();
  Rec* self = static_cast<Rec*>(arg);
  Arrived(self);
  try {
    self->body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "uvmemu: LWP %d (%s) ended with an exception: %s\n",
                 self->l->l_lid, self->name.c_str(), e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "uvmemu: LWP %d (%s) ended with an exception\n",
                 self->l->l_lid, self->name.c_str());
    std::abort();
  }
  EndCurrent(self);
}

}  // namespace

void UpdateMutexFastPath() {
  Core& c = C();
  const bool fast = !SessionActive() && c.all.size() <= 1;
  // lwp0's held list is not kept on the fast path; it restarts empty
  // (PrintLwps counts what lwp0 still holds from l_nlocks)
  if (fast && uvmemu_mutex_fast == 0 && c.lwp0_ready) c.lwp0.held.clear();
  uvmemu_mutex_fast = fast ? 1 : 0;
}

Rec* Current() {
  if (curlwp == Lwp0()) return Lwp0Rec();
  return static_cast<Rec*>(curlwp->l_sched);
}

const std::vector<Rec*>& AllLwps() {
  Lwp0Rec();
  return C().all;
}

void ResetLids() {
  int max = 1;
  for (const Rec* r : AllLwps()) max = std::max(max, r->l->l_lid);
  C().next_lid = max + 1;
}

int LiveLwps(uint64_t session) {
  int n = 0;
  for (const Rec* r : AllLwps())
    if (r->session == session && !r->kernel_thread &&
        r->state != State::kExited && r != &C().lwp0)
      n++;
  return n;
}

size_t RunnableLwps() { return C().runq.size(); }

Rec* SpawnLwp(const std::string& name, std::function<void()> body,
              bool kernel_thread, uint64_t session) {
  Core& c = C();
  Lwp0Rec();
  auto rec = std::make_unique<Rec>();
  Rec* r = rec.get();
  r->name = name;
  r->l = &r->own;
  r->own.l_cpu = Lwp0()->l_cpu;
  r->own.l_lid = c.next_lid++;
  r->own.l_name = r->name.c_str();
  r->own.l_sched = r;
  r->body = std::move(body);
  r->kernel_thread = kernel_thread;
  r->session = session;
  fiber::Make(r->ctx, &FiberMain, r);
  c.owned.push_back(std::move(rec));
  c.all.push_back(r);
  PublishLwps(c);
  MakeRunnable(r);
  return r;
}

void SwitchPoint(Kind kind) {
  Core& c = C();
  Rec* cur = Current();
  if (cur == nullptr) return;  // a test's own LWP: not scheduled
  const bool cur_runnable = cur->state == State::kRunning;
  if (cur_runnable && c.runq.empty() && QuietSwitchPoints()) {
    NextStep();  // nobody to switch to and nothing to decide
    cur->run_steps++;
    return;
  }
  const uint64_t step = NextStep();
  if (step > MaxSteps())
    panic(
        "livelock: %llu switch points in one session (LWP %d at a '%c' "
        "point); raise ScheduleOptions::max_steps if this is expected",
        static_cast<unsigned long long>(step), cur->l->l_lid,
        static_cast<char>(kind));
  if (!cur_runnable && c.runq.empty() && !AdvanceClock()) Deadlock(cur);

  std::vector<Rec*>& cands = c.cands;
  cands.clear();
  if (cur_runnable) cands.push_back(cur);
  cands.insert(cands.end(), c.runq.begin(), c.runq.end());
  const size_t fifo =
      kind == Kind::kPreempt && cur_runnable && cands.size() > 1;
  const Verdict v = Decide(Choice{kind, step, cands, cur_runnable, fifo});
  Rec* next = cands[v.index];

  int& flags = cur->l->l_cpu->ci_schedstate.spc_flags;
  if (v.yield >= 0) {
    flags = v.yield ? (flags | SPCF_SHOULDYIELD) : (flags & ~SPCF_SHOULDYIELD);
  } else if (next != cur && !ShouldYieldSticky()) {
    flags &= ~SPCF_SHOULDYIELD;  // a real switch clears it
  }
  // next may be the current LWP itself, woken (by the clock) while it
  // was about to sleep
  if (auto it = std::find(c.runq.begin(), c.runq.end(), next);
      it != c.runq.end())
    c.runq.erase(it);
  if (next == cur) {
    cur->state = State::kRunning;
    cur->run_steps++;
    return;
  }
  if (cur_runnable) MakeRunnable(cur);
  SwitchTo(cur, next);
}

int Sleep(const void* wchan, const char* wmesg, int timo, kmutex_t* interlock) {
  Core& c = C();
  Rec* cur = Current();
  if (cur == nullptr)
    panic("%s: sleep by LWP %d, which the scheduler does not know", wmesg,
          Lid(curlwp));
  if (timo < 0) panic("%s: negative timeout %d", wmesg, timo);
  cur->state = State::kSleeping;
  cur->l->l_wchan = wchan;
  cur->l->l_wmesg = wmesg;
  cur->wake_at = timo > 0 ? c.ticks + static_cast<uint64_t>(timo) : 0;
  cur->timed_out = false;
  c.sleepers.push_back(cur);
  // Asleep before the interlock is released: no wakeup can be lost.
  if (interlock != nullptr) {
    if (!mutex_owned(interlock))
      panic("%s: sleeping with interlock %p not held", wmesg,
            static_cast<void*>(interlock));
    interlock->mtx_owner = nullptr;
    curlwp->l_nlocks--;
    MutexReleased(interlock, /*switch_point=*/false);
  }
  SwitchPoint(Kind::kSleep);
  return cur->timed_out ? EWOULDBLOCK : 0;
}

void Wakeup(const void* wchan, bool one) {
  Core& c = C();
  for (auto it = c.sleepers.begin(); it != c.sleepers.end();) {
    Rec* r = *it;
    if (r->l->l_wchan != wchan) {
      ++it;
      continue;
    }
    it = c.sleepers.erase(it);
    r->l->l_wchan = nullptr;
    r->l->l_wmesg = nullptr;
    r->wake_at = 0;
    MakeRunnable(r);
    if (one) break;
  }
}

}  // namespace internal

using internal::C;
using internal::Current;
using internal::Kind;
using internal::Rec;
using internal::State;

void BlockOnMutex(kmutex_t* mtx) {
  Rec* cur = Current();
  if (cur == nullptr || C().all.size() <= 1) {
    const struct lwp* owner = mtx->mtx_owner;
    panic("deadlock: mutex %p held by LWP %d, no other LWP can run",
          static_cast<void*>(mtx), owner != nullptr ? owner->l_lid : 0);
  }
  cur->state = State::kMutexWait;
  cur->waiting_mutex = mtx;
  mtx->mtx_waiters++;
  C().mutex_waiters.push_back(cur);
  internal::SwitchPoint(Kind::kBlock);
}

void MutexEntering(kmutex_t* mtx) {
  (void)mtx;
  internal::SwitchPoint(Kind::kEnter);
}

void MutexAcquired(const kmutex_t* mtx) {
  if (uvmemu_mutex_fast != 0) return;  // as on the inline path
  if (Rec* cur = Current()) cur->held.push_back(mtx);
}

void MutexReleased(kmutex_t* mtx, bool switch_point) {
  if (Rec* cur = Current()) {
    auto& held = cur->held;
    auto it = std::find(held.rbegin(), held.rend(), mtx);
    if (it != held.rend()) held.erase(std::next(it).base());
  }
  if (mtx->mtx_waiters > 0) {
    auto& w = C().mutex_waiters;
    for (auto it = w.begin(); it != w.end();) {
      if ((*it)->waiting_mutex != mtx) {
        ++it;
        continue;
      }
      (*it)->waiting_mutex = nullptr;
      internal::MakeRunnable(*it);
      it = w.erase(it);
    }
    mtx->mtx_waiters = 0;
  }
  if (switch_point) internal::SwitchPoint(Kind::kMutexExit);
}

int SpawnKernelThread(const std::string& name, std::function<void()> body) {
  return internal::SpawnLwp(name, std::move(body), /*kernel_thread=*/true, 0)
      ->l->l_lid;
}

bool StopRequested() {
  const Rec* cur = Current();
  return cur != nullptr && cur->stop_requested;
}

void StopKernelThread(int lid) {
  for (;;) {
    Rec* target = nullptr;
    for (Rec* r : internal::AllLwps())
      if (r->l->l_lid == lid && r->state != State::kExited) target = r;
    if (target == nullptr) return;
    if (target == Current())
      panic("StopKernelThread: LWP %d stops itself", lid);
    target->stop_requested = true;
    if (target->state == State::kSleeping) wakeup(target->l->l_wchan);
    internal::Sleep(target, "kthstop", 0, nullptr);
  }
}

void NameChannel(const void* wchan, const char* name) {
  for (auto& [chan, n] : C().channel_names) {
    if (chan == wchan) {
      n = name;
      return;
    }
  }
  C().channel_names.emplace_back(wchan, name);
}

bool OtherLwpsExist() { return internal::AllLwps().size() > 1; }

}  // namespace uvmemu::sched

// --- sys/proc.h, sys/condvar.h ------------------------------------------

int tsleep(wchan_t chan, int pri, const char* wmesg, int timo) {
  (void)pri;
  return uvmemu::sched::internal::Sleep(chan, wmesg, timo, nullptr);
}

int mtsleep(wchan_t chan, int pri, const char* wmesg, int timo, kmutex_t* mtx) {
  const int error = uvmemu::sched::internal::Sleep(chan, wmesg, timo, mtx);
  if ((pri & PNORELOCK) == 0) mutex_enter(mtx);
  return error;
}

void wakeup(wchan_t chan) { uvmemu::sched::internal::Wakeup(chan, false); }

void wakeup_one(wchan_t chan) { uvmemu::sched::internal::Wakeup(chan, true); }

int kpause(const char* wmesg, bool intr, int timo, kmutex_t* mtx) {
  (void)intr;
  if (timo <= 0) panic("kpause(%s): timeout %d ticks", wmesg, timo);
  // a channel nobody wakes: the LWP's own record
  const void* chan = uvmemu::sched::internal::Current();
  const int error = uvmemu::sched::internal::Sleep(chan, wmesg, timo, mtx);
  if (mtx != nullptr) mutex_enter(mtx);
  return error == EWOULDBLOCK ? 0 : error;
}

void cv_init(kcondvar_t* cv, const char* wmesg) { cv->cv_wmesg = wmesg; }

void cv_destroy(kcondvar_t* cv) {
  if (cv_has_waiters(cv)) panic("cv_destroy: condvar %p has waiters", cv);
  cv->cv_wmesg = nullptr;
}

void cv_wait(kcondvar_t* cv, kmutex_t* mtx) {
  uvmemu::sched::internal::Sleep(cv, cv->cv_wmesg, 0, mtx);
  mutex_enter(mtx);
}

int cv_timedwait(kcondvar_t* cv, kmutex_t* mtx, int timo) {
  const int error = uvmemu::sched::internal::Sleep(cv, cv->cv_wmesg, timo, mtx);
  mutex_enter(mtx);
  return error;
}

void cv_signal(kcondvar_t* cv) { wakeup_one(cv); }

void cv_broadcast(kcondvar_t* cv) { wakeup(cv); }

bool cv_has_waiters(kcondvar_t* cv) {
  for (const auto* r : uvmemu::sched::internal::AllLwps())
    if (r->state == uvmemu::sched::internal::State::kSleeping &&
        r->l->l_wchan == cv)
      return true;
  return false;
}
