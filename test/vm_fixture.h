// Shared fixture for the kernel-level tests of maps, the fault handler
// and fork (test/vm_map_ops_test.cc, test/fault_test.cc,
// test/fork_test.cc): address spaces made with uvmspace_alloc(), memory
// mapped with uvm_map_anon(), accessed through the software MMU.
#ifndef UVMEMU_TEST_VM_FIXTURE_H
#define UVMEMU_TEST_VM_FIXTURE_H

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "emu/mmu.h"
#include "uvm/uvm.h"
#include "uvmemu/kernel.h"

namespace uvmemu::testing {

constexpr vaddr_t kPg = PAGE_SIZE;
// The user range of the address spaces the tests make.
constexpr vaddr_t kMin = 0x10000;
constexpr vaddr_t kMax = vaddr_t{1} << 32;

// What a map entry looks like, for comparisons and messages.
struct EntryInfo {
  vaddr_t start, end;
  vm_amap* amap;
  int pageoff;
  int etype;
  vm_prot_t prot, maxprot;
  vm_inherit_t inherit;
  int wired;
};

class VmTest : public ::testing::Test {
 protected:
  explicit VmTest(KernelConfig config = {.physical_pages = 256})
      : kernel_(config) {}

  void TearDown() override {
    // Free what the test left, then insist nothing leaked.
    for (vmspace* vm : live_) uvmspace_free(vm);
    live_.clear();
    const absl::Status leaks = Kernel::CheckNoLeaks();
    EXPECT_TRUE(leaks.ok()) << leaks.message();
  }

  // A new address space, freed at TearDown unless Exit()ed first.
  vmspace* NewSpace() {
    vmspace* vm = uvmspace_alloc(kMin, kMax);
    live_.push_back(vm);
    return vm;
  }
  vmspace* Fork(vmspace* vm) {
    vmspace* child = uvmspace_fork(vm);
    live_.push_back(child);
    return child;
  }
  void Exit(vmspace* vm) {
    for (auto it = live_.begin(); it != live_.end(); ++it) {
      if (*it == vm) {
        live_.erase(it);
        break;
      }
    }
    uvmspace_free(vm);
  }

  // Maps `pages` private read/write pages (copy on fork) at va (FIXED) or
  // anywhere (va == 0); returns the address.
  static vaddr_t Map(vmspace* vm, vaddr_t va, int pages, int flags = 0,
                     vm_prot_t prot = VM_PROT_READ | VM_PROT_WRITE,
                     vm_inherit_t inherit = MAP_INHERIT_COPY) {
    vaddr_t at = va;
    if (va != 0) flags |= UVM_FLAG_FIXED;
    const int error = uvm_map_anon(&vm->vm_map, &at, pages * kPg, prot,
                                   VM_PROT_ALL, inherit, flags);
    EXPECT_EQ(error, 0) << "uvm_map_anon at " << std::hex << va;
    return at;
  }

  // Reads / writes through the MMU (faults are resolved by uvm_fault);
  // 0 or EFAULT.
  static int Write(vmspace* vm, vaddr_t va, const std::string& bytes) {
    return mmu::CopyOut(vm->vm_map.pmap, bytes.data(), va, bytes.size());
  }
  static int Read(vmspace* vm, vaddr_t va, size_t len, std::string* out) {
    out->assign(len, '\0');
    return mmu::CopyIn(vm->vm_map.pmap, va, out->data(), len);
  }
  static std::string ReadStr(vmspace* vm, vaddr_t va, size_t len) {
    std::string s;
    EXPECT_EQ(Read(vm, va, len, &s), 0) << "read at " << std::hex << va;
    return s;
  }
  // One byte through a raw pointer into the window: a load or store
  // that faults through SIGSEGV into uvm_fault.
  static volatile char* Ptr(vmspace* vm, vaddr_t va) {
    return pmap_window(vm->vm_map.pmap) + va;
  }
  // Writes a distinct pattern ("<tag>@<page>") at the start of each page.
  static void Stamp(vmspace* vm, vaddr_t va, int pages,
                    const std::string& tag) {
    for (int i = 0; i < pages; i++)
      ASSERT_EQ(Write(vm, va + i * kPg, Tag(tag, i)), 0);
  }
  static std::string Tag(const std::string& tag, int page) {
    return tag + "@" + std::to_string(page);
  }
  static std::string Peek(vmspace* vm, vaddr_t va, const std::string& like) {
    return ReadStr(vm, va, like.size());
  }

  static std::vector<EntryInfo> Entries(vmspace* vm) {
    std::vector<EntryInfo> out;
    for (vm_map_entry* e = uvm_map_first(&vm->vm_map); e != nullptr;
         e = uvm_map_next(&vm->vm_map, e)) {
      out.push_back({e->start, e->end, e->aref.ar_amap, e->aref.ar_pageoff,
                     e->etype, e->protection, e->max_protection, e->inheritance,
                     e->wired_count});
    }
    return out;
  }
  static vm_map_entry* EntryAt(vmspace* vm, vaddr_t va) {
    vm_map_entry* e = nullptr;
    if (!uvm_map_lookup_entry(&vm->vm_map, va, &e)) return nullptr;
    return e;
  }
  // The anon mapped at va (through the entry's amap), or nullptr.
  static vm_anon* AnonAt(vmspace* vm, vaddr_t va) {
    vm_map_entry* e = EntryAt(vm, va);
    if (e == nullptr || e->aref.ar_amap == nullptr) return nullptr;
    amap_lock(e->aref.ar_amap);
    vm_anon* anon = amap_lookup(&e->aref, trunc_page(va) - e->start);
    amap_unlock(e->aref.ar_amap);
    return anon;
  }
  static vm_amap* AmapAt(vmspace* vm, vaddr_t va) {
    vm_map_entry* e = EntryAt(vm, va);
    return e != nullptr ? e->aref.ar_amap : nullptr;
  }

  // Every amap referenced by a live address space passes amap_check().
  ::testing::AssertionResult AllAmapsConsistent() const {
    char why[256];
    for (vmspace* vm : live_) {
      for (vm_map_entry* e = uvm_map_first(&vm->vm_map); e != nullptr;
           e = uvm_map_next(&vm->vm_map, e)) {
        const vm_amap* a = e->aref.ar_amap;
        if (a != nullptr && amap_check(a, why, sizeof(why)) != 0)
          return ::testing::AssertionFailure()
                 << "process " << vm->vm_id << " entry [" << std::hex
                 << e->start << ", " << e->end << ") amap "
                 << static_cast<const void*>(a) << ": " << why;
      }
    }
    return ::testing::AssertionSuccess();
  }

  static long Anons() { return uvm_anon_count(); }
  static long PagesInUse() { return uvmexp.npages - uvmexp.free; }

  Kernel kernel_;
  std::vector<vmspace*> live_;
};

}  // namespace uvmemu::testing

#endif  // UVMEMU_TEST_VM_FIXTURE_H
