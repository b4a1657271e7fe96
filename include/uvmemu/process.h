// An emulated process: an address space (a UVM map and its pmap) that is
// touched with ordinary loads and stores through Ptr(), or through the
// copyin/copyout-style Read()/Write() accessors.
//
//   uvmemu::Machine machine;
//   uvmemu::Process parent = *machine.Spawn();
//   uint64_t va = *parent.Mmap(4 * 4096, uvmemu::kReadWrite);
//   std::memcpy(parent.Ptr(va), "hello", 6);   // faults, zero-fills
//   uvmemu::Process child = *parent.Fork();     // copy-on-write
//   child.Ptr<char>(va)[0] = 'J';                // the COW happens here
#ifndef UVMEMU_PROCESS_H
#define UVMEMU_PROCESS_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct vmspace;

namespace uvmemu {

class Machine;

// Protections (the values of NetBSD's VM_PROT_*).
enum Prot : int {
  kNone = 0,
  kRead = 1,
  kWrite = 2,
  kReadWrite = 3,
};

// What a child gets of a range at fork (minherit(2)).
enum class Inherit { kShare, kCopy, kNone };

struct MapOptions {
  // Shared memory stays shared with children after fork; private memory
  // is copied on write.
  bool shared = false;
  // Map exactly here (page aligned) instead of at the first free address.
  std::optional<uint64_t> fixed_address;
};

class Process {
 public:
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // Exits the process if it is still running.
  ~Process();

  int pid() const { return pid_; }
  bool exited() const { return vm_ == nullptr; }

  // mmap(2) of anonymous memory: returns the address.  Length must be a
  // non-zero multiple of the page size.
  absl::StatusOr<uint64_t> Mmap(uint64_t length, int prot,
                                const MapOptions& options = {});
  absl::Status Munmap(uint64_t va, uint64_t length);
  absl::Status Mprotect(uint64_t va, uint64_t length, int prot);
  absl::Status Minherit(uint64_t va, uint64_t length, Inherit inherit);
  // mlock(2)/munlock(2): wire the range (faulting every page in).
  absl::Status Wire(uint64_t va, uint64_t length);
  absl::Status Unwire(uint64_t va, uint64_t length);
  absl::StatusOr<Process> Fork();
  // Tears the address space down; later calls fail.
  absl::Status Exit();

  // copyin/copyout: faults are resolved by UVM; an access UVM refuses
  // returns an OutOfRange ("EFAULT") or PermissionDenied status, never
  // a crash.
  absl::Status Read(uint64_t va, void* dst, size_t length) const;
  absl::Status Write(uint64_t va, const void* src, size_t length);

  // A real host pointer to va in this process's window: plain loads and
  // stores go through the software MMU.  An access the emulated kernel
  // refuses is an emulated segmentation violation (the program aborts).
  template <class T = char>
  T* Ptr(uint64_t va) const {
    return reinterpret_cast<T*>(Window() + va);
  }

  // Pages out every resident page of [va, va + length) that can be (not
  // wired or busy; while swap has room), whatever the page daemon's
  // queues say; returns how many were.  Pages shared with other
  // processes (copy-on-write or shared amaps) leave them too.
  absl::StatusOr<int> PageOut(uint64_t va, uint64_t length);

  // A text dump: entries -> amaps (slots, ppref runs) -> anons -> pages.
  std::string Dump() const;

  // The kernel's view, for tests and the debugger.
  struct vmspace* vmspace() const { return vm_; }

 private:
  friend class Machine;
  Process(Machine* machine, struct vmspace* vm);
  char* Window() const;
  absl::Status CheckRange(uint64_t va, uint64_t length) const;
  absl::Status CheckRunning() const;

  Machine* machine_ = nullptr;
  struct vmspace* vm_ = nullptr;
  int pid_ = 0;
};

}  // namespace uvmemu

#endif  // UVMEMU_PROCESS_H
