// The emulated machine's physical memory (see emu/arena.h).
//
// The frames live in one memfd so that the software MMU can map any frame
// at any emulated virtual address with mmap(MAP_SHARED); the arena itself
// keeps one read/write "direct map" of the whole memfd, through which the
// kernel reads and writes page contents (uvm_pagedata, uvm_pagecopy, ...).
// The direct map is pre-faulted (MAP_POPULATE) so that first touches do
// not show up in measurements.
//
// struct vm_page carries a Boost.Intrusive hook, so the page array is a
// real C++ array of constructed objects, not raw memory.

#include "emu/arena.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#include <sys/systm.h>
#include <uvm/uvm_param.h>
#include <uvm/uvm_page.h>

namespace uvmemu::arena {
namespace {

struct State {
  bool initialized = false;
  size_t npages = 0;
  int memfd = -1;
  uint8_t* base = nullptr;  // direct map of all frames
  std::unique_ptr<vm_page[]> pages;
};

State& S() {
  static State state;
  return state;
}

size_t MapBytes(size_t npages) { return npages * static_cast<size_t>(PAGE_SIZE); }

}  // namespace

void Init(size_t npages) {
  State& s = S();
  if (s.initialized) {
    panic("arena::Init: physical memory is already initialised "
          "(%zu pages)", s.npages);
  }
  if (npages == 0) {
    panic("arena::Init: a machine needs at least one physical page");
  }

  int fd = memfd_create("uvmemu-physmem", MFD_CLOEXEC);
  if (fd < 0) {
    panic("arena::Init: memfd_create: %s", strerror(errno));
  }
  if (ftruncate(fd, static_cast<off_t>(MapBytes(npages))) != 0) {
    int e = errno;
    close(fd);
    panic("arena::Init: ftruncate to %zu pages: %s", npages, strerror(e));
  }
  void* base = mmap(nullptr, MapBytes(npages), PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_POPULATE, fd, 0);
  if (base == MAP_FAILED) {
    int e = errno;
    close(fd);
    panic("arena::Init: mmap of %zu pages: %s", npages, strerror(e));
  }

  // Value-initialisation zeroes the plain fields and constructs each
  // page's queue hook.
  std::unique_ptr<vm_page[]> pages(new vm_page[npages]());
  for (size_t i = 0; i < npages; i++) {
    pages[i].phys_addr = static_cast<paddr_t>(i) * PAGE_SIZE;
    pages[i].pqflags = PQ_FREE;
  }

  s.npages = npages;
  s.memfd = fd;
  s.base = static_cast<uint8_t*>(base);
  s.pages = std::move(pages);
  s.initialized = true;
}

void Shutdown() {
  State& s = S();
  if (!s.initialized) {
    panic("arena::Shutdown: physical memory is not initialised");
  }
  size_t busy = 0;
  size_t linked = 0;
  for (size_t i = 0; i < s.npages; i++) {
    if ((s.pages[i].pqflags & PQ_FREE) == 0) busy++;
    if (s.pages[i].pageq.is_linked()) linked++;
  }
  if (busy != 0) {
    panic("arena::Shutdown: %zu of %zu physical pages are not free",
          busy, s.npages);
  }
  if (linked != 0) {
    // Destroying a linked safe-mode hook would corrupt the list it is on.
    panic("arena::Shutdown: %zu pages are still on a page list "
          "(uvm_page_shutdown must empty the free list first)", linked);
  }
  munmap(s.base, MapBytes(s.npages));
  close(s.memfd);
  s.pages.reset();
  s.base = nullptr;
  s.memfd = -1;
  s.npages = 0;
  s.initialized = false;
}

bool Initialized() { return S().initialized; }

size_t PageCount() { return S().npages; }

struct vm_page* Page(size_t index) {
  State& s = S();
  if (index >= s.npages) {
    panic("arena::Page: index %zu out of range (%zu pages)", index,
          s.npages);
  }
  return &s.pages[index];
}

struct vm_page* PageByPhys(paddr_t pa) {
  State& s = S();
  if (!s.initialized || (pa & PAGE_MASK) != 0) return nullptr;
  size_t index = pa >> PAGE_SHIFT;
  if (index >= s.npages) return nullptr;
  return &s.pages[index];
}

void* FrameData(const struct vm_page* pg) {
  State& s = S();
  if (!s.initialized || pg < &s.pages[0] || pg >= &s.pages[s.npages]) {
    panic("arena::FrameData: %p is not a page of this machine",
          static_cast<const void*>(pg));
  }
  return s.base + pg->phys_addr;
}

int MemfdDescriptor() { return S().memfd; }

}  // namespace uvmemu::arena
