// The kernel memory allocator (sys/kmem.h) and pool caches (sys/pool.h)
// of the emulated machine, with accounting (emu/kmem_stats.h), poisoning
// and a quarantine (emu/kmem_debug.h) and failure injection
// (emu/inject_point.h).
//
// Every block comes from the host's malloc with a 32-byte header in
// front (its size, allocation site, pool cache and a magic number; more
// padding for pool objects aligned beyond 16 bytes) and ends exactly at
// the size asked for, so a host sanitizer sees overruns; under
// AddressSanitizer the header is poisoned, so underruns are seen too.
// The set of live blocks (emu/kmem_live.h) says which pointers have a
// header: a pointer not in it is never dereferenced.  Outstanding
// objects and bytes are counted as they change; the report per call
// site (the static kmem_site of the kmem_alloc / pool_cache_get call) is
// gathered from the headers when asked for, in a fixed order (file,
// line, function; pools by name first), never in address order.
//
// Rules, as a DIAGNOSTIC NetBSD kernel of the uvm_amap.c 1.87 era
// enforces them (each violation panics):
//   - kmem_alloc(0), or flags other than exactly one of KM_SLEEP,
//     KM_NOSLEEP;
//   - kmem_free() with a size other than the allocation's (the message
//     names both sizes and both sites), of an unknown pointer, of a block
//     already freed (while it is in quarantine: named as a double free),
//     or of a pool object;
//   - pool_cache_put() of an object not from that cache, or of one
//     already put back;
//   - pool_cache_get/put on a cache that is not bootstrapped;
//   - pool_cache_destroy(), or a second pool_cache_bootstrap(), of a
//     cache with objects outstanding.  A second bootstrap of an idle
//     cache re-initialises it: the kernel is rebooted per test;
//   - a free of a block whose header was overwritten.
// KM_NOSLEEP allocations and pool gets without PR_WAITOK are failure
// points (uvmemu::inject::ShouldFail) and return NULL when the plan says
// so; KM_SLEEP / PR_WAITOK never return NULL (host exhaustion panics).
//
// Pool caches keep no free objects: every get allocates (and runs the
// constructor), every put runs the destructor and frees, so a stale
// object pointer lands in poison while the object is quarantined (or,
// with kmem debugging off, in memory given back to the host).
//
// With kmem debugging on, an allocation of at most 4 KiB first looks for
// a spare of its size and alignment (emu/kmem_spares.h, emu/kmem_debug.h)
// and checks its poison, before asking the host.
//
// The machine runs on one host thread (LWPs are fibers): no locking.
#include <sys/kmem.h>
#include <sys/pool.h>
#include <sys/systm.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "emu/inject_point.h"
#include "emu/kmem_debug.h"
#include "emu/kmem_live.h"
#include "emu/kmem_spares.h"
#include "emu/kmem_stats.h"

#if defined(__SANITIZE_ADDRESS__)
#define UVMEMU_KMEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UVMEMU_KMEM_ASAN 1
#endif
#endif
#ifdef UVMEMU_KMEM_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace {

using uvmemu::AllocKind;
using uvmemu::kmem::kAllocPoison;
using uvmemu::kmem::kFreePoison;
using uvmemu::kmem::kQuarantineBlocks;
using uvmemu::kmem::kQuarantineBytes;
using uvmemu::kmem::LiveBlocks;
using uvmemu::kmem::Quarantined;
using uvmemu::kmem::SpareBlocks;

// NetBSD's KMEM_QUANTUM_SIZE on LP64 of that era.
constexpr size_t kKmemQuantum = 8;

// In front of every live block.
struct Header {
  size_t size;
  const kmem_site* site;
  pool_cache* pc;   // nullptr for a kmem block
  uint32_t offset;  // from the start of the host allocation to the block
  uint32_t magic;
};
constexpr uint32_t kHeaderMagic = 0x6b6d656d;  // "kmem"
static_assert(sizeof(Header) % LiveBlocks::kGranule == 0);
static_assert(alignof(std::max_align_t) == LiveBlocks::kGranule);

// The quarantine FIFO: a ring, so a free allocates nothing.  It holds at
// most kQuarantineBlocks + 1 blocks (one more just before an eviction).
class QuarantineRing {
 public:
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // i = 0 is the oldest
  const Quarantined& operator[](size_t i) const {
    return ring_[(head_ + i) % kCapacity];
  }
  void push_back(const Quarantined& q) {
    ring_[(head_ + count_) % kCapacity] = q;
    count_++;
  }
  void erase(size_t i) {
    for (size_t j = i; j > 0; j--)  // the older ones move up one
      ring_[(head_ + j) % kCapacity] = ring_[(head_ + j - 1) % kCapacity];
    head_ = (head_ + 1) % kCapacity;
    count_--;
  }

 private:
  static constexpr size_t kCapacity = 256;
  static_assert(kQuarantineBlocks + 1 <= kCapacity);
  std::array<Quarantined, kCapacity> ring_;
  size_t head_ = 0;
  size_t count_ = 0;
};

struct CacheInfo {
  pool_cache* pc;
  size_t align;  // host alignment of its objects
};

struct State {
  LiveBlocks live;
  QuarantineRing quarantine;
  size_t quarantine_bytes = 0;
  SpareBlocks spares;  // out of the ring, still poisoned (emu/kmem_spares.h)
  bool debug = true;   // poison and quarantine (emu/kmem_debug.h)
  std::vector<CacheInfo> caches;  // bootstrapped, in bootstrap order
  long kmem_objects = 0;
  long kmem_bytes = 0;
  long pool_objects = 0;
};

// Never destroyed: usable at exit.  Made on first use, out of line, so
// that S() inlines to a load and a branch.
State* g_state = nullptr;

[[gnu::noinline]] State& NewState() {
  g_state = new State;
  return *g_state;
}

State& S() { return g_state != nullptr ? *g_state : NewState(); }

uintptr_t Addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

Header* HeaderOf(void* p) {
  return reinterpret_cast<Header*>(static_cast<char*>(p) - sizeof(Header));
}

// Under AddressSanitizer the bytes in front of a block (header and
// padding) are poisoned except while this file reads or writes them.
void HideHeader([[maybe_unused]] void* p, [[maybe_unused]] size_t offset) {
#ifdef UVMEMU_KMEM_ASAN
  ASAN_POISON_MEMORY_REGION(static_cast<char*>(p) - offset, offset);
#endif
}

void ShowHeader([[maybe_unused]] void* p, [[maybe_unused]] size_t offset) {
#ifdef UVMEMU_KMEM_ASAN
  ASAN_UNPOISON_MEMORY_REGION(static_cast<char*>(p) - offset, offset);
#endif
}

const char* Basename(const char* file) {
  if (file == nullptr) return "?";
  const char* slash = std::strrchr(file, '/');
  return slash != nullptr ? slash + 1 : file;
}

// "amap_alloc1 (uvm_amap.cc:200)"
std::string SiteName(const kmem_site* site) {
  if (site == nullptr) return "an unknown site";
  return std::string(site->ks_func != nullptr ? site->ks_func : "?") + " (" +
         Basename(site->ks_file) + ":" + std::to_string(site->ks_line) + ")";
}

// Deterministic order of sites in reports.
auto SiteKey(const kmem_site* site) {
  return std::make_tuple(
      std::string(site != nullptr ? Basename(site->ks_file) : ""),
      site != nullptr ? site->ks_line : 0,
      std::string(site != nullptr && site->ks_func != nullptr ? site->ks_func
                                                              : ""),
      std::string(site != nullptr && site->ks_file != nullptr ? site->ks_file
                                                              : ""));
}

const char* CacheName(const pool_cache* pc) {
  return pc != nullptr && pc->pc_wchan != nullptr ? pc->pc_wchan : "?";
}

// kFreePoison repeated over kPoisonChunk bytes: poison is checked a chunk
// at a time with memcmp, which is vectorised (and beats a word loop from
// 64 bytes on).
constexpr size_t kPoisonChunk = 4096;

const unsigned char* PoisonChunk() {
  static const auto* chunk = [] {
    auto* c = new unsigned char[kPoisonChunk];
    for (size_t i = 0; i < kPoisonChunk; i += 4)
      std::memcpy(c + i, &kFreePoison, 4);
    return c;
  }();
  return chunk;
}

// With wmemset (wchar_t is the pattern's 32 bits here): the library's
// vector stores, as fast as memset; copying the pattern with memcpy (a
// second stream, loads) took twice as long from 1 KiB on and five times
// at 264 bytes.  `p` is 16-byte aligned: every block starts so.
void FillFreePoison(void* p, size_t n) {
  static_assert(sizeof(wchar_t) == sizeof(kFreePoison));
  std::wmemset(static_cast<wchar_t*>(p), static_cast<wchar_t>(kFreePoison),
               n / sizeof(wchar_t));
  const size_t tail = n % sizeof(wchar_t);
  std::memcpy(static_cast<unsigned char*>(p) + (n - tail), &kFreePoison, tail);
}

// Offset of the first byte that is not free poison, or n.
size_t FirstUnpoisoned(const void* p, size_t n) {
  const unsigned char* b = static_cast<const unsigned char*>(p);
  const unsigned char* pat = PoisonChunk();
  for (size_t i = 0; i < n; i += kPoisonChunk) {
    const size_t len = std::min(kPoisonChunk, n - i);
    if (std::memcmp(b + i, pat, len) == 0) continue;
    for (size_t j = 0; j < len; j++)
      if (b[i + j] != pat[j]) return i + j;
  }
  return n;
}

// Gives a block's host allocation back to the host.
void HostFree(void* p, size_t offset) {
  ShowHeader(p, offset);
  std::free(static_cast<char*>(p) - offset);
}

// Index of the quarantined block at `a` in the ring, or -1.
ptrdiff_t FindQuarantined(uintptr_t a) {
  const QuarantineRing& q = S().quarantine;
  for (size_t i = 0; i < q.size(); i++)
    if (q[i].addr == a) return static_cast<ptrdiff_t>(i);
  return -1;
}

// The record of the block at `a` in the ring or among the spares, or
// nullptr.
const Quarantined* FindFreed(uintptr_t a) {
  const ptrdiff_t i = FindQuarantined(a);
  if (i >= 0) return &S().quarantine[static_cast<size_t>(i)];
  return S().spares.Find(a);
}

// Gives block `q` (out of the ring and the spares) back to the host, then
// panics: it was written `off` bytes in after being freed.  Giving it
// back first means a test that catches the panic does not meet the same
// block again.
[[noreturn, gnu::cold, gnu::noinline]] void WriteAfterFree(const Quarantined& q,
                                                           size_t off) {
  void* p = reinterpret_cast<void*>(q.addr);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%p", p);
  const std::string msg =
      "kmem: write after free: " + std::to_string(q.size) + "-byte " +
      (q.pool_name != nullptr
           ? std::string("object of pool cache \"") + q.pool_name + "\""
           : std::string("block")) +
      " at " + buf + " allocated at " + SiteName(q.alloc_site) +
      " and freed at " + SiteName(q.free_site) + " was modified at offset " +
      std::to_string(off);
  HostFree(p, q.offset);
  panic("%s", msg.c_str());
}

// Checks the poison of block `q` (out of the ring and the spares) and
// gives it back to the host.
void Release(const Quarantined& q) {
  void* p = reinterpret_cast<void*>(q.addr);
  const size_t off = FirstUnpoisoned(p, q.size);
  if (off != q.size) WriteAfterFree(q, off);
  HostFree(p, q.offset);
}

Quarantined TakeFromRing(State& s, size_t i) {
  const Quarantined q = s.quarantine[i];
  s.quarantine.erase(i);
  s.quarantine_bytes -= q.size;
  return q;
}

// The oldest block leaves the ring: a small one becomes a spare (and may
// push an older spare out), a large one goes back to the host.
void EvictOldest(State& s) {
  const Quarantined q = TakeFromRing(s, 0);
  if (q.size > SpareBlocks::kMaxSize) {
    Release(q);
    return;
  }
  s.spares.Put(q, [](const Quarantined& out) { Release(out); });
}

// A block that has left the live set: poisoned and parked in quarantine
// with kmem debugging on, given back to the host at once with it off.
void Retire(State& s, void* p, const Header& h, const kmem_site* free_site) {
  if (!s.debug) {
    HostFree(p, h.offset);
    return;
  }
  FillFreePoison(p, h.size);
  s.quarantine.push_back(
      Quarantined{Addr(p), h.size, h.offset, h.site, free_site,
                  h.pc != nullptr ? h.pc->pc_wchan : nullptr});
  s.quarantine_bytes += h.size;
  while (s.quarantine.size() > kQuarantineBlocks ||
         (s.quarantine_bytes > kQuarantineBytes && s.quarantine.size() > 1))
    EvictOldest(s);
}

// A spare block of `size` bytes aligned to `align`, with `offset` bytes
// in front, its poison checked; nullptr if there is none.
[[gnu::noinline]] void* TakeSpare(State& s, size_t size, size_t align,
                                  uint32_t offset) {
  const std::optional<Quarantined> q = s.spares.Take(size, offset, align);
  if (!q) return nullptr;
  void* p = reinterpret_cast<void*>(q->addr);
  const size_t off = FirstUnpoisoned(p, size);
  if (off != size) [[unlikely]]
    WriteAfterFree(*q, off);
  return p;
}

// Panics for a pointer that is not a live block: a double free if it is
// still in quarantine, otherwise an unknown pointer.
[[noreturn, gnu::cold, gnu::noinline]] void BadFree(const char* who,
                                                    const void* p,
                                                    const kmem_site* site) {
  if (const Quarantined* freed = FindFreed(Addr(p))) {
    const Quarantined& q = *freed;
    panic(
        "%s: double free of %p at %s: %zu-byte %s allocated at %s was "
        "already freed at %s",
        who, p, SiteName(site).c_str(), q.size,
        q.pool_name != nullptr ? "pool object" : "block",
        SiteName(q.alloc_site).c_str(), SiteName(q.free_site).c_str());
  }
  panic("%s: freeing unknown pointer %p at %s", who, p, SiteName(site).c_str());
}

[[noreturn, gnu::cold, gnu::noinline]] void BadHeader(const char* who,
                                                      const void* p,
                                                      const kmem_site* site) {
  panic(
      "%s: %p freed at %s: its header was overwritten (a write in the "
      "%zu bytes before the block)",
      who, p, SiteName(site).c_str(), sizeof(Header));
}

// The header of live block `p` (a copy: the original stays hidden from
// AddressSanitizer); panics if `p` is not live or its header was
// overwritten.
Header LiveHeader(State& s, const char* who, void* p, const kmem_site* site) {
  if (!s.live.Contains(Addr(p))) [[unlikely]]
    BadFree(who, p, site);
  Header* hp = HeaderOf(p);
  ShowHeader(p, sizeof(Header));
  const Header h = *hp;
  HideHeader(p, sizeof(Header));
  if (h.magic != kHeaderMagic) [[unlikely]]
    BadHeader(who, p, site);
  return h;
}

// Distance from the host allocation to a block aligned to `align`: room
// for the header, and the alignment kept.
uint32_t OffsetFor(size_t align) {
  return static_cast<uint32_t>(std::max(sizeof(Header), align));
}

// The host allocation for a block of `size` bytes aligned to `align` (a
// power of 2, at least 16), with room for the header; returns the block,
// or nullptr if the host has no memory.  `*offset` is set to the
// distance from the host allocation to the block.
void* HostAlloc(size_t size, size_t align, uint32_t* offset) {
  const size_t off = OffsetFor(align);
  if (size > SIZE_MAX - off) return nullptr;
  void* base = nullptr;
  if (align <= alignof(std::max_align_t)) {
    base = std::malloc(off + size);
  } else if (posix_memalign(&base, align, off + size) != 0) {
    base = nullptr;
  }
  if (base == nullptr) return nullptr;
  *offset = static_cast<uint32_t>(off);
  return static_cast<char*>(base) + off;
}

// A block for an allocation as HostAlloc's: a spare if one fits (kmem
// debugging on), else a new host allocation.  Inline, with the spares'
// lookup out of line: with debugging off an allocation costs one test
// more than HostAlloc alone.
[[gnu::always_inline]] inline void* GetBlock(State& s, size_t size,
                                             size_t align, uint32_t* offset) {
  if (s.debug && size <= SpareBlocks::kMaxSize) {
    const uint32_t off = OffsetFor(align);
    if (void* p = TakeSpare(s, size, align, off)) {
      *offset = off;
      return p;
    }
  }
  return HostAlloc(size, align, offset);
}

[[noreturn, gnu::cold, gnu::noinline]] void BeyondReach(const void* p) {
  panic(
      "kmem: the host allocated a block at %p, beyond the live set's "
      "reach",
      p);
}

// Writes block `p`'s header and enters it in the live set.
void Admit(State& s, void* p, uint32_t offset, size_t size,
           const kmem_site* site, pool_cache* pc) {
  ShowHeader(p, sizeof(Header));
  *HeaderOf(p) = Header{size, site, pc, offset, kHeaderMagic};
  HideHeader(p, offset);
  if (!LiveBlocks::Covers(Addr(p))) [[unlikely]]
    BeyondReach(p);
  s.live.Insert(Addr(p));
}

[[noreturn, gnu::cold, gnu::noinline]] void BadAlloc(size_t size,
                                                     km_flag_t flags,
                                                     const kmem_site* site,
                                                     bool zero) {
  const char* who = zero ? "kmem_zalloc" : "kmem_alloc";
  if (size == 0)
    panic("%s: zero-size allocation at %s", who, SiteName(site).c_str());
  panic("%s: flags %#x are not exactly one of KM_SLEEP, KM_NOSLEEP at %s", who,
        flags, SiteName(site).c_str());
}

[[noreturn, gnu::cold, gnu::noinline]] void HostExhausted(size_t size,
                                                          const kmem_site* site,
                                                          bool zero) {
  panic("%s: host out of memory allocating %zu bytes at %s",
        zero ? "kmem_zalloc" : "kmem_alloc", size, SiteName(site).c_str());
}

void* Alloc(size_t size, km_flag_t flags, const kmem_site* site, bool zero) {
  const km_flag_t sleep = flags & (KM_SLEEP | KM_NOSLEEP);
  if (size == 0 || sleep == 0 || sleep == (KM_SLEEP | KM_NOSLEEP)) [[unlikely]]
    BadAlloc(size, flags, site, zero);
  const bool nosleep = sleep == KM_NOSLEEP;
  uvmemu::inject::OnAllocation(AllocKind::kKmem, site);
  if (nosleep && uvmemu::inject::ShouldFail(AllocKind::kKmem, site))
    return nullptr;
  State& s = S();
  uint32_t offset = 0;
  void* p = GetBlock(s, size, alignof(std::max_align_t), &offset);
  if (p == nullptr) [[unlikely]] {
    if (nosleep) return nullptr;
    HostExhausted(size, site, zero);
  }
  if (zero)
    std::memset(p, 0, size);
  else if (s.debug)
    std::memset(p, kAllocPoison, size);
  Admit(s, p, offset, size, site, nullptr);
  s.kmem_objects++;
  s.kmem_bytes += static_cast<long>(size);
  return p;
}

CacheInfo* FindCache(const pool_cache* pc) {
  for (CacheInfo& ci : S().caches)
    if (ci.pc == pc) return &ci;
  return nullptr;
}

void RelinkCaches() {
  std::vector<CacheInfo>& caches = S().caches;
  for (size_t i = 0; i < caches.size(); i++)
    caches[i].pc->pc_next = i + 1 < caches.size() ? caches[i + 1].pc : nullptr;
}

}  // namespace

struct kmem_ptr kmem_alloc_site(size_t size, km_flag_t flags,
                                const struct kmem_site* site) {
  return kmem_ptr{Alloc(size, flags, site, false)};
}

struct kmem_ptr kmem_zalloc_site(size_t size, km_flag_t flags,
                                 const struct kmem_site* site) {
  return kmem_ptr{Alloc(size, flags, site, true)};
}

namespace {

[[noreturn, gnu::cold, gnu::noinline]] void BadKmemFree(void* p, size_t size,
                                                        const kmem_site* site,
                                                        const Header& h) {
  if (h.pc != nullptr)
    panic(
        "kmem_free: %p freed at %s is an object of pool cache \"%s\" "
        "allocated at %s, not a kmem block",
        p, SiteName(site).c_str(), CacheName(h.pc), SiteName(h.site).c_str());
  panic(
      "kmem_free: size mismatch: freeing %zu bytes at %s of a %zu-byte "
      "block allocated at %s",
      size, SiteName(site).c_str(), h.size, SiteName(h.site).c_str());
}

}  // namespace

void kmem_free_site(void* p, size_t size, const struct kmem_site* site) {
  State& s = S();
  const Header h = LiveHeader(s, "kmem_free", p, site);
  if (h.pc != nullptr || h.size != size) [[unlikely]]
    BadKmemFree(p, size, site, h);
  s.live.Erase(Addr(p));
  s.kmem_objects--;
  s.kmem_bytes -= static_cast<long>(h.size);
  Retire(s, p, h, site);
}

size_t kmem_roundup_size(size_t size) {
  return (size + (kKmemQuantum - 1)) & ~(kKmemQuantum - 1);
}

void pool_cache_bootstrap(struct pool_cache* pc, size_t size,
                          unsigned int align, unsigned int align_offset,
                          int flags, const char* wchan,
                          struct pool_allocator* palloc, int ipl,
                          int (*ctor)(void*, void*, int),
                          void (*dtor)(void*, void*), void* arg) {
  (void)align_offset;
  (void)flags;
  (void)palloc;
  (void)ipl;
  if (pc == nullptr) panic("pool_cache_bootstrap: NULL pool cache");
  if (size == 0)
    panic("pool_cache_bootstrap: pool cache \"%s\" with object size 0",
          wchan != nullptr ? wchan : "?");
  if (align != 0 && (align & (align - 1)) != 0)
    panic(
        "pool_cache_bootstrap: pool cache \"%s\": alignment %u is not a "
        "power of 2",
        wchan != nullptr ? wchan : "?", align);
  CacheInfo* ci = FindCache(pc);
  if (ci != nullptr && pc->pc_nout != 0)
    panic(
        "pool_cache_bootstrap: pool cache \"%s\" bootstrapped again with "
        "%ld objects outstanding",
        CacheName(pc), pc->pc_nout);
  const size_t host_align = std::max<size_t>(align, alignof(std::max_align_t));
  if (ci == nullptr) {
    S().caches.push_back(CacheInfo{pc, host_align});
  } else {
    ci->align = host_align;
  }
  pc->pc_wchan = wchan;
  pc->pc_size = size;
  pc->pc_nout = 0;
  pc->pc_nget = 0;
  pc->pc_nfail = 0;
  pc->pc_ctor_called = 1;
  pc->pc_ctor = ctor;
  pc->pc_dtor = dtor;
  pc->pc_arg = arg;
  RelinkCaches();
}

void pool_cache_destroy(struct pool_cache* pc) {
  if (FindCache(pc) == nullptr)
    panic("pool_cache_destroy: pool cache %p is not bootstrapped",
          static_cast<void*>(pc));
  if (pc->pc_nout != 0)
    panic(
        "pool_cache_destroy: pool cache \"%s\" busy: %ld objects "
        "outstanding",
        CacheName(pc), pc->pc_nout);
  std::vector<CacheInfo>& caches = S().caches;
  caches.erase(std::find_if(caches.begin(), caches.end(),
                            [pc](const CacheInfo& c) { return c.pc == pc; }));
  pc->pc_ctor_called = 0;
  pc->pc_next = nullptr;
  RelinkCaches();
}

struct kmem_ptr pool_cache_get_site(struct pool_cache* pc, int flags,
                                    const struct kmem_site* site) {
  CacheInfo* ci = FindCache(pc);
  if (ci == nullptr)
    panic("pool_cache_get: pool cache %p is not bootstrapped (at %s)",
          static_cast<void*>(pc), SiteName(site).c_str());
  const bool nowait = (flags & PR_WAITOK) == 0;
  uvmemu::inject::OnAllocation(AllocKind::kPool, site);
  if (nowait && uvmemu::inject::ShouldFail(AllocKind::kPool, site)) {
    pc->pc_nfail++;
    return kmem_ptr{nullptr};
  }
  State& s = S();
  uint32_t offset = 0;
  void* p = GetBlock(s, pc->pc_size, ci->align, &offset);
  if (p == nullptr) {
    if (nowait) {
      pc->pc_nfail++;
      return kmem_ptr{nullptr};
    }
    panic("pool_cache_get: host out of memory for pool cache \"%s\" at %s",
          CacheName(pc), SiteName(site).c_str());
  }
  if (s.debug) std::memset(p, kAllocPoison, pc->pc_size);
  if (pc->pc_ctor != nullptr && pc->pc_ctor(pc->pc_arg, p, flags) != 0) {
    // as NetBSD: a failing constructor makes the get fail
    HostFree(p, offset);
    pc->pc_nfail++;
    return kmem_ptr{nullptr};
  }
  Admit(s, p, offset, pc->pc_size, site, pc);
  s.pool_objects++;
  pc->pc_nout++;
  pc->pc_nget++;
  return kmem_ptr{p};
}

void pool_cache_put_site(struct pool_cache* pc, void* p,
                         const struct kmem_site* site) {
  if (FindCache(pc) == nullptr)
    panic("pool_cache_put: pool cache %p is not bootstrapped (at %s)",
          static_cast<void*>(pc), SiteName(site).c_str());
  State& s = S();
  const Header h = LiveHeader(s, "pool_cache_put", p, site);
  if (h.pc != pc) {
    if (h.pc == nullptr)
      panic(
          "pool_cache_put: %p put to pool cache \"%s\" at %s is a "
          "%zu-byte kmem block allocated at %s",
          p, CacheName(pc), SiteName(site).c_str(), h.size,
          SiteName(h.site).c_str());
    panic(
        "pool_cache_put: %p put to pool cache \"%s\" at %s is an object "
        "of pool cache \"%s\" allocated at %s",
        p, CacheName(pc), SiteName(site).c_str(), CacheName(h.pc),
        SiteName(h.site).c_str());
  }
  if (pc->pc_dtor != nullptr) pc->pc_dtor(pc->pc_arg, p);
  s.live.Erase(Addr(p));
  s.pool_objects--;
  pc->pc_nout--;
  Retire(s, p, h, site);
}

namespace uvmemu::kmem {

Totals Outstanding() {
  const State& s = S();
  Totals t;
  t.objects = s.kmem_objects;
  t.bytes = s.kmem_bytes;
  t.pool_objects = s.pool_objects;
  return t;
}

long PoolOutstanding(const char* wchan) {
  long n = 0;
  for (const CacheInfo& ci : S().caches)
    if (wchan != nullptr && ci.pc->pc_wchan != nullptr &&
        std::strcmp(ci.pc->pc_wchan, wchan) == 0)
      n += ci.pc->pc_nout;
  return n;
}

// kmem: 2 blocks, 256 bytes at amap_alloc1 (uvm_amap.cc:200)
// pool "amappl": 1 object, 96 bytes at amap_alloc1 (uvm_amap.cc:183)
std::string LeakReport() {
  State& s = S();
  struct Counts {
    long objects = 0;
    long bytes = 0;
  };
  absl::flat_hash_map<std::pair<const pool_cache*, const kmem_site*>, Counts>
      sites;
  for (const uintptr_t a : s.live.Addresses()) {
    void* p = reinterpret_cast<void*>(a);
    ShowHeader(p, sizeof(Header));
    const Header h = *HeaderOf(p);
    HideHeader(p, sizeof(Header));
    Counts& c = sites[{h.pc, h.site}];
    c.objects++;
    c.bytes += static_cast<long>(h.size);
  }
  auto plural = [](long n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };

  std::vector<std::pair<decltype(SiteKey(nullptr)), std::string>> kmem_lines;
  std::vector<std::pair<std::pair<std::string, decltype(SiteKey(nullptr))>,
                        std::string>>
      pool_lines;
  for (const auto& [key, c] : sites) {
    const auto& [pc, site] = key;
    if (pc == nullptr) {
      kmem_lines.emplace_back(
          SiteKey(site), "kmem: " + plural(c.objects, "block", "blocks") +
                             ", " + std::to_string(c.bytes) + " bytes at " +
                             SiteName(site) + "\n");
    } else {
      const std::string name = CacheName(pc);
      pool_lines.push_back(
          {{name, SiteKey(site)},
           "pool \"" + name + "\": " + plural(c.objects, "object", "objects") +
               ", " + std::to_string(c.bytes) + " bytes at " + SiteName(site) +
               "\n"});
    }
  }
  std::sort(kmem_lines.begin(), kmem_lines.end());
  std::sort(pool_lines.begin(), pool_lines.end());
  std::string out;
  for (const auto& l : kmem_lines) out += l.second;
  for (const auto& l : pool_lines) out += l.second;
  return out;
}

bool InQuarantine(const void* p) { return FindFreed(Addr(p)) != nullptr; }

void CheckQuarantine() {
  // oldest first, then the spares; a block found written is released as
  // it is reported
  State& s = S();
  const QuarantineRing& q = s.quarantine;
  for (size_t i = 0; i < q.size(); i++)
    if (FirstUnpoisoned(reinterpret_cast<const void*>(q[i].addr), q[i].size) !=
        q[i].size)
      Release(TakeFromRing(s, i));  // panics
  uintptr_t written = 0;
  s.spares.ForEach([&](const Quarantined& sp) {
    if (written == 0 && FirstUnpoisoned(reinterpret_cast<const void*>(sp.addr),
                                        sp.size) != sp.size)
      written = sp.addr;
  });
  if (written != 0) Release(*s.spares.TakeAt(written));  // panics
}

void FlushQuarantine() {
  CheckQuarantine();
  State& s = S();
  while (!s.quarantine.empty()) Release(TakeFromRing(s, 0));
  while (const std::optional<Quarantined> q = s.spares.TakeAny()) Release(*q);
}

void SetDebug(bool on) {
  if (!on) FlushQuarantine();
  S().debug = on;
}

bool DebugEnabled() { return S().debug; }

}  // namespace uvmemu::kmem
