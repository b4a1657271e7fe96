// Process: the public face of a vmspace.
#include "uvmemu/process.h"

#include <cerrno>
#include <utility>

#include "absl/strings/str_format.h"
#include "api/status.h"
#include "emu/mmu.h"
#include "uvm/uvm.h"
#include "uvmemu/machine.h"

namespace uvmemu {
namespace {

vm_prot_t ToVmProt(int prot) { return static_cast<vm_prot_t>(prot); }

vm_inherit_t ToVmInherit(Inherit inherit) {
  switch (inherit) {
    case Inherit::kShare: return MAP_INHERIT_SHARE;
    case Inherit::kCopy: return MAP_INHERIT_COPY;
    case Inherit::kNone: return MAP_INHERIT_NONE;
  }
  return MAP_INHERIT_COPY;
}

}  // namespace

Process::Process(Machine* machine, struct vmspace* vm)
    : machine_(machine), vm_(vm), pid_(vm->vm_id) {
  machine_->Register(this);
}

Process::Process(Process&& other) noexcept
    : machine_(other.machine_), vm_(other.vm_), pid_(other.pid_) {
  if (vm_ != nullptr) machine_->Moved(&other, this);
  other.vm_ = nullptr;
}

Process& Process::operator=(Process&& other) noexcept {
  if (this == &other) return *this;
  (void)Exit();
  machine_ = other.machine_;
  vm_ = other.vm_;
  pid_ = other.pid_;
  if (vm_ != nullptr) machine_->Moved(&other, this);
  other.vm_ = nullptr;
  return *this;
}

Process::~Process() { (void)Exit(); }

absl::Status Process::CheckRunning() const {
  if (vm_ == nullptr)
    return absl::FailedPreconditionError("the process has exited");
  return absl::OkStatus();
}

// Page aligned, non-empty, no wrap-around, inside the user range.
absl::Status Process::CheckRange(uint64_t va, uint64_t length) const {
  if (absl::Status s = CheckRunning(); !s.ok()) return s;
  if (length == 0) return absl::InvalidArgumentError("length is zero");
  if ((va | length) & PAGE_MASK)
    return absl::InvalidArgumentError(
        absl::StrFormat("va 0x%x or length 0x%x is not page aligned", va, length));
  const vm_map& map = vm_->vm_map;
  // va > max_offset first: max_offset - va must not wrap.
  if (va < map.min_offset || va > map.max_offset ||
      length > map.max_offset - va)
    return absl::InvalidArgumentError(absl::StrFormat(
        "[0x%x, +0x%x) is outside the user range [0x%x, 0x%x)", va, length,
        map.min_offset, map.max_offset));
  return absl::OkStatus();
}

char* Process::Window() const { return pmap_window(vm_->vm_map.pmap); }

absl::StatusOr<uint64_t> Process::Mmap(uint64_t length, int prot,
                                       const MapOptions& options) {
  if (absl::Status s = CheckRunning(); !s.ok()) return s;
  if (prot & ~kReadWrite) return absl::InvalidArgumentError("unknown protection bits");
  vaddr_t va = options.fixed_address.value_or(vm_->vm_map.min_offset);
  if (absl::Status s = CheckRange(va, length); !s.ok()) return s;
  int flags = options.fixed_address ? UVM_FLAG_FIXED : 0;
  if (options.shared) flags |= UVM_FLAG_SHAREDANON;
  const vm_inherit_t inherit = options.shared ? MAP_INHERIT_SHARE : MAP_INHERIT_COPY;
  const int error = uvm_map_anon(&vm_->vm_map, &va, length, ToVmProt(prot),
                                 VM_PROT_ALL, inherit, flags);
  if (error == ENOMEM && options.fixed_address)
    return absl::AlreadyExistsError(absl::StrFormat(
        "mmap: [0x%x, +0x%x) overlaps an existing mapping", va, length));
  if (error != 0) return ErrnoStatus(error, "mmap");
  return va;
}

absl::Status Process::Munmap(uint64_t va, uint64_t length) {
  if (absl::Status s = CheckRange(va, length); !s.ok()) return s;
  return ErrnoStatus(uvm_unmap(&vm_->vm_map, va, va + length), "munmap");
}

absl::Status Process::Mprotect(uint64_t va, uint64_t length, int prot) {
  if (absl::Status s = CheckRange(va, length); !s.ok()) return s;
  if (prot & ~kReadWrite) return absl::InvalidArgumentError("unknown protection bits");
  return ErrnoStatus(
      uvm_map_protect(&vm_->vm_map, va, va + length, ToVmProt(prot), false),
      "mprotect");
}

absl::Status Process::Minherit(uint64_t va, uint64_t length, Inherit inherit) {
  if (absl::Status s = CheckRange(va, length); !s.ok()) return s;
  return ErrnoStatus(
      uvm_map_inherit(&vm_->vm_map, va, va + length, ToVmInherit(inherit)),
      "minherit");
}

absl::Status Process::Wire(uint64_t va, uint64_t length) {
  if (absl::Status s = CheckRange(va, length); !s.ok()) return s;
  return ErrnoStatus(uvm_map_pageable(&vm_->vm_map, va, va + length, false),
                     "wire");
}

absl::Status Process::Unwire(uint64_t va, uint64_t length) {
  if (absl::Status s = CheckRange(va, length); !s.ok()) return s;
  return ErrnoStatus(uvm_map_pageable(&vm_->vm_map, va, va + length, true),
                     "unwire");
}

absl::StatusOr<Process> Process::Fork() {
  if (absl::Status s = CheckRunning(); !s.ok()) return s;
  struct vmspace* child = uvmspace_fork(vm_);
  if (child == nullptr) return absl::ResourceExhaustedError("fork: no memory");
  return Process(machine_, child);
}

absl::Status Process::Exit() {
  if (absl::Status s = CheckRunning(); !s.ok()) return s;
  machine_->Unregister(this);
  uvmspace_free(vm_);
  vm_ = nullptr;
  return absl::OkStatus();
}

absl::Status Process::Read(uint64_t va, void* dst, size_t length) const {
  if (absl::Status s = CheckRunning(); !s.ok()) return s;
  if (length == 0) return absl::OkStatus();
  return ErrnoStatus(mmu::CopyIn(vm_->vm_map.pmap, va, dst, length), "read");
}

absl::Status Process::Write(uint64_t va, const void* src, size_t length) {
  if (absl::Status s = CheckRunning(); !s.ok()) return s;
  if (length == 0) return absl::OkStatus();
  return ErrnoStatus(mmu::CopyOut(vm_->vm_map.pmap, src, va, length), "write");
}

}  // namespace uvmemu
