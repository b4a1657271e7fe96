// pmap_page_protect() / pmap_update() for the machine without an MMU
// (uvm/uvm_pmap.h, emu/pmap_log.h).
#include <deque>

#include <uvm/uvm_pmap.h>

#include "emu/pmap_log.h"

namespace {

constexpr size_t kMaxLog = 65536;

struct Log {
  std::deque<std::pair<const vm_page*, vm_prot_t>> calls;
  uint64_t total = 0;
};

Log& TheLog() {
  static Log* log = new Log;
  return *log;
}

}  // namespace

void pmap_page_protect(struct vm_page* pg, vm_prot_t prot) {
  Log& log = TheLog();
  log.total++;
  if (log.calls.size() == kMaxLog) log.calls.pop_front();
  log.calls.emplace_back(pg, prot);
}

void pmap_update(void*) {}

namespace uvmemu::pmap {

std::vector<std::pair<const vm_page*, vm_prot_t>> ProtectLog() {
  const Log& log = TheLog();
  return {log.calls.begin(), log.calls.end()};
}

void ClearProtectLog() { TheLog().calls.clear(); }

uint64_t ProtectCount() { return TheLog().total; }

}  // namespace uvmemu::pmap
