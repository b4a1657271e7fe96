// Debugging aids of the kernel allocators (emu/kmem.cc), beyond the
// accounting in emu/kmem_stats.h.
//
// Freed kmem blocks and pool objects are filled with the 32-bit pattern
// 0xdeadbeef (native byte order) and held in a quarantine FIFO (at most
// kQuarantineBlocks blocks / kQuarantineBytes bytes), so a read after
// free sees poison rather than a new owner's data.  A block leaving the
// FIFO goes back to the host if it is larger than
// SpareBlocks::kMaxSize (4 KiB), else it becomes a spare
// (emu/kmem_spares.h): still poisoned, it waits for an allocation of the
// same size and alignment (up to SpareBlocks::kMaxBytes of spares, 512
// KiB; beyond that spares go back to the host).  Its poison is checked
// when it leaves for good, reused or given back: a block written after
// it was freed panics, naming where it was allocated and freed.  So a
// block is never reused before kQuarantineBlocks frees (or
// kQuarantineBytes) have followed its own, and a small one usually stays
// poisoned longer.  Newly allocated (not zeroed) memory, a reused spare
// included, is filled with 0xa5 bytes.
//
// Poisoning and the quarantine are kmem debugging, on by default
// (KernelConfig::kmem_debug): the default build's detector of reads and
// writes after free (AddressSanitizer builds have their own).  With it
// off, blocks go back to the host at once and new blocks are not filled:
// a use after free is no longer caught.  Accounting, the leak report and
// every misuse panic of kmem_free / pool_cache_put stay; a double free
// is then reported as the free of an unknown pointer.
#ifndef UVMEMU_EMU_KMEM_DEBUG_H
#define UVMEMU_EMU_KMEM_DEBUG_H

#include <cstddef>
#include <cstdint>

namespace uvmemu::kmem {

inline constexpr uint32_t kFreePoison = 0xdeadbeef;
inline constexpr unsigned char kAllocPoison = 0xa5;
inline constexpr size_t kQuarantineBlocks = 128;
inline constexpr size_t kQuarantineBytes = size_t{1} << 20;

// True if `p` is the start of a block freed and still in quarantine (in
// the FIFO or a spare).
bool InQuarantine(const void* p);
// Check the poison of every quarantined block, spares included (panics
// on a write after free); the blocks stay quarantined.
void CheckQuarantine();
// Check, then give every quarantined block back to the host.
void FlushQuarantine();

// Turns kmem debugging (poisoning and the quarantine) on or off; turning
// it off flushes the quarantine first.  On at process start; the Kernel
// sets it from KernelConfig::kmem_debug at boot and back on at shutdown.
void SetDebug(bool on);
bool DebugEnabled();

}  // namespace uvmemu::kmem

#endif  // UVMEMU_EMU_KMEM_DEBUG_H
