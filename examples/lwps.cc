// Several LWPs under the deterministic scheduler: two sleep on a wait
// channel, one naps on the virtual clock, and a waker wakes the sleepers.
// Prints what happened, in the order it happened (the same every run).
//
// For gdb: uvmemu_lwps_all_asleep() runs in the waker while the others
// sleep, so `break uvmemu_lwps_all_asleep` then `uvm-lwps` lists every
// LWP with its wait channel (tools/gdb/test_gdb.py, case lwps).
#include <sys/proc.h>

#include <cstdio>
#include <string>
#include <vector>

#include "uvmemu/kernel.h"
#include "uvmemu/scheduler.h"

// The sleepers' wait channel: a global, so gdb names it.
int uvmemu_lwps_channel;

// Called by the waker while both sleepers sleep: a place to break.
extern "C" __attribute__((noinline)) void uvmemu_lwps_all_asleep(int sleepers) {
  asm volatile("" : : "r"(sleepers) : "memory");
}

int main() {
  uvmemu::Kernel kernel({.physical_pages = 16});
  std::vector<std::string> log;
  int asleep = 0;
  uvmemu::Scheduler sched;
  for (const char* name : {"sleeper1", "sleeper2"}) {
    sched.Spawn(name, [&log, &asleep, name] {
      log.push_back(std::string(name) + " sleeps on uvmemu_lwps_channel");
      asleep++;
      tsleep(&uvmemu_lwps_channel, 0, "lwpswait", 0);
      asleep--;
      log.push_back(std::string(name) + " woke up");
    });
  }
  sched.Spawn("napper", [&log] {
    log.push_back("napper naps for 5 ticks");
    kpause("lwpsnap", false, 5, nullptr);
    log.push_back("napper's nap ended");
  });
  sched.Spawn("waker", [&log, &asleep] {
    while (asleep < 2) preempt();  // until both sleepers sleep
    uvmemu_lwps_all_asleep(asleep);
    log.push_back("waker wakes " + std::to_string(asleep) + " sleepers");
    wakeup(&uvmemu_lwps_channel);
  });
  const absl::Status s = sched.Run();
  for (const std::string& line : log) std::printf("%s\n", line.c_str());
  if (!s.ok()) {
    std::fprintf(stderr, "scheduler: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
