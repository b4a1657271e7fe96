// Page faults taken by LWPs that must sleep: the MMU's SIGSEGV handler
// sleeps inside uvm_fault (a busy page) while other LWPs run and take
// their own faults on another alternate stack (docs/scheduler.md).
#include <gtest/gtest.h>
#include <sys/proc.h>

#include <cstring>
#include <string>

#include "emu/mmu.h"
#include "emu/sched_hooks.h"
#include "uvm/uvm.h"
#include "uvmemu/machine.h"
#include "uvmemu/process.h"
#include "uvmemu/scheduler.h"

namespace uvmemu {
namespace {

// The anon behind a mapped va, its mappings removed (as the page daemon
// does before writing a page out) so that the next access faults.
vm_anon* UnmappedAnon(Process& p, uint64_t va) {
  struct pmap* pmap = p.vmspace()->vm_map.pmap;
  vm_page* pg = mmu::MappedPage(pmap, va);
  EXPECT_NE(pg, nullptr);
  vm_anon* anon = pg->uanon;
  mutex_enter(&anon->an_lock);
  pmap_page_protect(pg, VM_PROT_NONE);
  mutex_exit(&anon->an_lock);
  return anon;
}

TEST(SchedFault, FaultOnBusyPage_HandlerSleepsWhileOthersFault) {
  Machine machine({.physical_pages = 64});
  Process p = *machine.Spawn();
  const uint64_t va = *p.Mmap(4 * 4096, kReadWrite);
  std::strcpy(p.Ptr<char>(va), "written by lwp0");
  vm_anon* anon = UnmappedAnon(p, va);
  std::string read_back;
  int other_sum = 0;
  bool wanted = false;
  {
    Scheduler sched;
    sched.Spawn("pagedaemon", [&] {
      mutex_enter(&anon->an_lock);
      anon->an_page->flags |= PG_BUSY;
      UVM_PAGE_OWN(anon->an_page, "pageout");
      mutex_exit(&anon->an_lock);
      kpause("pageout", false, 5, nullptr);  // until both others are done
      mutex_enter(&anon->an_lock);
      vm_page* pg = anon->an_page;
      wanted = (pg->flags & PG_WANTED) != 0;
      if (wanted) wakeup(pg);
      pg->flags &= ~(PG_BUSY | PG_WANTED);
      UVM_PAGE_OWN(pg, nullptr);
      mutex_exit(&anon->an_lock);
    });
    // a raw load: SIGSEGV -> uvm_fault -> the page is busy -> sleeps in
    // the handler on the alternate stack
    sched.Spawn("reader", [&] { read_back = p.Ptr<char>(va); });
    // meanwhile another LWP faults (zero fill, stores) on other pages: its
    // handler frames must not land on the sleeping reader's
    sched.Spawn("writer", [&] {
      for (int i = 1; i < 4; i++) {
        p.Ptr<int>(va + i * 4096)[0] = i;
        other_sum += p.Ptr<int>(va + i * 4096)[0];
      }
      int copied = 0;
      EXPECT_TRUE(p.Read(va + 4096, &copied, sizeof copied).ok());
      EXPECT_EQ(copied, 1);
    });
    ASSERT_TRUE(sched.Run().ok());
  }
  EXPECT_TRUE(wanted) << "the reader's fault did not wait for the page";
  EXPECT_EQ(read_back, "written by lwp0");
  EXPECT_EQ(other_sum, 6);
  EXPECT_TRUE(p.Exit().ok());
}

TEST(SchedFault, CopyInSleepingInFault_OtherCopyFaultsRecoverSeparately) {
  Machine machine({.physical_pages = 64});
  Process p = *machine.Spawn();
  const uint64_t va = *p.Mmap(3 * 4096, kReadWrite);
  ASSERT_TRUE(p.Mprotect(va + 2 * 4096, 4096, 0).ok());
  std::strcpy(p.Ptr<char>(va), "busy page");
  vm_anon* anon = UnmappedAnon(p, va);
  char buf[16] = {};
  absl::Status refused;
  {
    Scheduler sched;
    sched.Spawn("pagedaemon", [&] {
      mutex_enter(&anon->an_lock);
      anon->an_page->flags |= PG_BUSY;
      UVM_PAGE_OWN(anon->an_page, "pageout");
      mutex_exit(&anon->an_lock);
      kpause("pageout", false, 5, nullptr);
      mutex_enter(&anon->an_lock);
      vm_page* pg = anon->an_page;
      if (pg->flags & PG_WANTED) wakeup(pg);
      pg->flags &= ~(PG_BUSY | PG_WANTED);
      UVM_PAGE_OWN(pg, nullptr);
      mutex_exit(&anon->an_lock);
    });
    sched.Spawn("copyin",
                [&] { EXPECT_TRUE(p.Read(va, buf, sizeof buf).ok()); });
    // an access the kernel refuses, while the other copy sleeps: its
    // onfault recovery must return here, not into the sleeping copy
    sched.Spawn("efault", [&] {
      char c;
      refused = p.Read(va + 2 * 4096, &c, 1);
    });
    ASSERT_TRUE(sched.Run().ok());
  }
  EXPECT_STREQ(buf, "busy page");
  EXPECT_EQ(refused.code(), absl::StatusCode::kOutOfRange) << refused;
  EXPECT_TRUE(p.Exit().ok());
}

}  // namespace
}  // namespace uvmemu
