// The kernel memory allocator (sys/kmem.h) and pool caches (sys/pool.h)
// of the emulated machine, with accounting (emu/kmem_stats.h), poisoning
// and a quarantine (emu/kmem_debug.h) and failure injection
// (emu/inject_point.h).
//
// Every block comes from the host's malloc (exactly the size asked for,
// so a host sanitizer sees overruns) and is entered in a side table
// keyed by address that remembers its size, its allocation site and, for
// pool objects, its cache.  Accounting is kept per call site (the static
// kmem_site of the kmem_alloc / pool_cache_get call) and reported in a
// fixed order (file, line, function; pools by name first), never in
// hash or address order.
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
//     cache re-initialises it: the kernel is rebooted per test.
// KM_NOSLEEP allocations and pool gets without PR_WAITOK are failure
// points (uvmemu::inject::ShouldFail) and return NULL when the plan says
// so; KM_SLEEP / PR_WAITOK never return NULL (host exhaustion panics).
//
// Pool caches keep no free objects: every get allocates (and runs the
// constructor), every put runs the destructor and frees, so a stale
// object pointer always lands in poison.
//
// The machine runs on one host thread (LWPs are fibers): no locking.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"

#include <sys/kmem.h>
#include <sys/pool.h>
#include <sys/systm.h>

#include "emu/inject_point.h"
#include "emu/kmem_debug.h"
#include "emu/kmem_stats.h"

namespace {

using uvmemu::AllocKind;
using uvmemu::kmem::kAllocPoison;
using uvmemu::kmem::kFreePoison;
using uvmemu::kmem::kQuarantineBlocks;
using uvmemu::kmem::kQuarantineBytes;

// NetBSD's KMEM_QUANTUM_SIZE on LP64 of that era.
constexpr size_t kKmemQuantum = 8;

struct Counts {
  long objects = 0;
  long bytes = 0;
};

struct Live {
  size_t size;
  const kmem_site* site;
  pool_cache* pc;  // nullptr for a kmem block
  Counts* counts;  // its site's entry in kmem_sites / pool_sites
};

struct Quarantined {
  uintptr_t addr;
  size_t size;
  const kmem_site* alloc_site;
  const kmem_site* free_site;
  const char* pool_name;  // nullptr for a kmem block
};

struct CacheInfo {
  pool_cache* pc;
  size_t align;  // host alignment of its objects
};

// The tables are looked up on every allocation and free (an anon per
// fault), so they are open-addressing hash tables (no allocation per
// entry); nothing iterates them in hash order where the order shows
// (reports are sorted, the quarantine is a FIFO).  The per-site counts
// are node maps: a live block points at its site's counts, so a free
// needs no second lookup.
struct State {
  absl::flat_hash_map<uintptr_t, Live> live;
  // oldest first; at most kQuarantineBlocks, so the rare lookups by
  // address (double free, InQuarantine) scan it
  std::deque<Quarantined> quarantine;
  size_t quarantine_bytes = 0;
  absl::node_hash_map<const kmem_site*, Counts> kmem_sites;
  absl::node_hash_map<std::pair<const pool_cache*, const kmem_site*>, Counts>
      pool_sites;
  std::vector<CacheInfo> caches;  // bootstrapped, in bootstrap order
  long kmem_objects = 0;
  long kmem_bytes = 0;
  long pool_objects = 0;
};

State& S() {
  static State* s = new State;  // never destroyed: usable at exit
  return *s;
}

uintptr_t Addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

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
  return std::make_tuple(std::string(site != nullptr ? Basename(site->ks_file)
                                                     : ""),
                         site != nullptr ? site->ks_line : 0,
                         std::string(site != nullptr && site->ks_func != nullptr
                                         ? site->ks_func
                                         : ""),
                         std::string(site != nullptr && site->ks_file != nullptr
                                         ? site->ks_file
                                         : ""));
}

// kFreePoison repeated over kPoisonChunk bytes: poison is checked a chunk
// at a time with memcmp, which is vectorised.
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

// Eight bytes at a time, in a loop the compiler vectorises (a memcpy of
// a variable size here became a `rep movsq`, slow to start for the small
// blocks that are most of them).
void FillFreePoison(void* p, size_t n) {
  unsigned char* b = static_cast<unsigned char*>(p);
  const unsigned char* pat = PoisonChunk();
  uint64_t word;
  std::memcpy(&word, pat, sizeof word);
  size_t i = 0;
  for (; i + sizeof word <= n; i += sizeof word)
    std::memcpy(b + i, &word, sizeof word);
  for (; i < n; i++) b[i] = pat[i & 3];
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

// Index of the quarantined block at `a`, or -1.
ptrdiff_t FindQuarantined(uintptr_t a) {
  const std::deque<Quarantined>& q = S().quarantine;
  for (size_t i = 0; i < q.size(); i++)
    if (q[i].addr == a) return static_cast<ptrdiff_t>(i);
  return -1;
}

// Takes quarantined block `i` out of quarantine and gives it back to the
// host; panics afterwards if it was written after being freed (so a test
// that catches the panic does not meet the same block again).
void Release(size_t i) {
  State& s = S();
  const Quarantined q = s.quarantine[i];
  const size_t off =
      FirstUnpoisoned(reinterpret_cast<const void*>(q.addr), q.size);
  std::string msg;
  if (off != q.size) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%p", reinterpret_cast<void*>(q.addr));
    msg = "kmem: write after free: " + std::to_string(q.size) + "-byte " +
          (q.pool_name != nullptr
               ? std::string("object of pool cache \"") + q.pool_name + "\""
               : std::string("block")) +
          " at " + buf + " allocated at " + SiteName(q.alloc_site) +
          " and freed at " + SiteName(q.free_site) +
          " was modified at offset " + std::to_string(off);
  }
  if (i == 0)
    s.quarantine.pop_front();
  else
    s.quarantine.erase(s.quarantine.begin() + static_cast<ptrdiff_t>(i));
  s.quarantine_bytes -= q.size;
  std::free(reinterpret_cast<void*>(q.addr));
  if (!msg.empty()) panic("%s", msg.c_str());
}

void EvictOldest() { Release(0); }

// Poison a block that has left the live table and park it in quarantine.
void Quarantine(void* p, const Live& l, const kmem_site* free_site) {
  State& s = S();
  FillFreePoison(p, l.size);
  s.quarantine.push_back(
      Quarantined{Addr(p), l.size, l.site, free_site,
                  l.pc != nullptr ? l.pc->pc_wchan : nullptr});
  s.quarantine_bytes += l.size;
  while (s.quarantine.size() > kQuarantineBlocks ||
         (s.quarantine_bytes > kQuarantineBytes && s.quarantine.size() > 1))
    EvictOldest();
}

// Panics for a pointer that is not a live block: a double free if it is
// still in quarantine, otherwise an unknown pointer.
[[noreturn]] void BadFree(const char* who, const void* p,
                          const kmem_site* site) {
  const ptrdiff_t i = FindQuarantined(Addr(p));
  if (i >= 0) {
    const Quarantined& q = S().quarantine[static_cast<size_t>(i)];
    panic("%s: double free of %p at %s: %zu-byte %s allocated at %s was "
          "already freed at %s",
          who, p, SiteName(site).c_str(), q.size,
          q.pool_name != nullptr ? "pool object" : "block",
          SiteName(q.alloc_site).c_str(), SiteName(q.free_site).c_str());
  }
  panic("%s: freeing unknown pointer %p at %s", who, p,
        SiteName(site).c_str());
}

void* Alloc(size_t size, km_flag_t flags, const kmem_site* site, bool zero) {
  const char* who = zero ? "kmem_zalloc" : "kmem_alloc";
  if (size == 0)
    panic("%s: zero-size allocation at %s", who, SiteName(site).c_str());
  const bool sleep = (flags & KM_SLEEP) != 0;
  const bool nosleep = (flags & KM_NOSLEEP) != 0;
  if (sleep == nosleep)
    panic("%s: flags %#x are not exactly one of KM_SLEEP, KM_NOSLEEP at %s",
          who, flags, SiteName(site).c_str());
  uvmemu::inject::OnAllocation(AllocKind::kKmem, site);
  if (nosleep && uvmemu::inject::ShouldFail(AllocKind::kKmem, site))
    return nullptr;
  void* p = std::malloc(size);
  if (p == nullptr) {
    if (nosleep) return nullptr;
    panic("%s: host out of memory allocating %zu bytes at %s", who, size,
          SiteName(site).c_str());
  }
  std::memset(p, zero ? 0 : kAllocPoison, size);
  State& s = S();
  Counts& c = s.kmem_sites[site];
  s.live[Addr(p)] = Live{size, site, nullptr, &c};
  c.objects++;
  c.bytes += static_cast<long>(size);
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

const char* CacheName(const pool_cache* pc) {
  return pc != nullptr && pc->pc_wchan != nullptr ? pc->pc_wchan : "?";
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

void kmem_free_site(void* p, size_t size, const struct kmem_site* site) {
  State& s = S();
  auto it = s.live.find(Addr(p));
  if (it == s.live.end()) BadFree("kmem_free", p, site);
  const Live l = it->second;
  if (l.pc != nullptr)
    panic("kmem_free: %p freed at %s is an object of pool cache \"%s\" "
          "allocated at %s, not a kmem block",
          p, SiteName(site).c_str(), CacheName(l.pc),
          SiteName(l.site).c_str());
  if (l.size != size)
    panic("kmem_free: size mismatch: freeing %zu bytes at %s of a %zu-byte "
          "block allocated at %s",
          size, SiteName(site).c_str(), l.size, SiteName(l.site).c_str());
  s.live.erase(it);
  l.counts->objects--;
  l.counts->bytes -= static_cast<long>(l.size);
  s.kmem_objects--;
  s.kmem_bytes -= static_cast<long>(l.size);
  Quarantine(p, l, site);
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
    panic("pool_cache_bootstrap: pool cache \"%s\": alignment %u is not a "
          "power of 2",
          wchan != nullptr ? wchan : "?", align);
  CacheInfo* ci = FindCache(pc);
  if (ci != nullptr && pc->pc_nout != 0)
    panic("pool_cache_bootstrap: pool cache \"%s\" bootstrapped again with "
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
    panic("pool_cache_destroy: pool cache \"%s\" busy: %ld objects "
          "outstanding",
          CacheName(pc), pc->pc_nout);
  std::vector<CacheInfo>& caches = S().caches;
  caches.erase(std::find_if(caches.begin(), caches.end(),
                            [pc](const CacheInfo& c) { return c.pc == pc; }));
  // the cache's per-site counts are all zero now
  auto& ps = S().pool_sites;
  for (auto it = ps.begin(); it != ps.end();) {
    const auto cur = it++;  // erasing leaves the other iterators valid
    if (cur->first.first == pc) ps.erase(cur);
  }
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
  void* p = nullptr;
  if (posix_memalign(&p, ci->align, pc->pc_size) != 0 || p == nullptr) {
    if (nowait) {
      pc->pc_nfail++;
      return kmem_ptr{nullptr};
    }
    panic("pool_cache_get: host out of memory for pool cache \"%s\" at %s",
          CacheName(pc), SiteName(site).c_str());
  }
  std::memset(p, kAllocPoison, pc->pc_size);
  if (pc->pc_ctor != nullptr && pc->pc_ctor(pc->pc_arg, p, flags) != 0) {
    // as NetBSD: a failing constructor makes the get fail
    std::free(p);
    pc->pc_nfail++;
    return kmem_ptr{nullptr};
  }
  State& s = S();
  Counts& c = s.pool_sites[{pc, site}];
  s.live[Addr(p)] = Live{pc->pc_size, site, pc, &c};
  c.objects++;
  c.bytes += static_cast<long>(pc->pc_size);
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
  auto it = s.live.find(Addr(p));
  if (it == s.live.end()) BadFree("pool_cache_put", p, site);
  const Live l = it->second;
  if (l.pc != pc) {
    if (l.pc == nullptr)
      panic("pool_cache_put: %p put to pool cache \"%s\" at %s is a "
            "%zu-byte kmem block allocated at %s",
            p, CacheName(pc), SiteName(site).c_str(), l.size,
            SiteName(l.site).c_str());
    panic("pool_cache_put: %p put to pool cache \"%s\" at %s is an object "
          "of pool cache \"%s\" allocated at %s",
          p, CacheName(pc), SiteName(site).c_str(), CacheName(l.pc),
          SiteName(l.site).c_str());
  }
  if (pc->pc_dtor != nullptr) pc->pc_dtor(pc->pc_arg, p);
  s.live.erase(it);
  l.counts->objects--;
  l.counts->bytes -= static_cast<long>(l.size);
  s.pool_objects--;
  pc->pc_nout--;
  Quarantine(p, l, site);
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
  const State& s = S();
  std::string out;
  auto plural = [](long n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };

  std::vector<std::pair<decltype(SiteKey(nullptr)), std::string>> kmem_lines;
  for (const auto& [site, c] : s.kmem_sites) {
    if (c.objects == 0 && c.bytes == 0) continue;
    kmem_lines.emplace_back(SiteKey(site),
                            "kmem: " + plural(c.objects, "block", "blocks") +
                                ", " + std::to_string(c.bytes) +
                                " bytes at " + SiteName(site) + "\n");
  }
  std::sort(kmem_lines.begin(), kmem_lines.end());
  for (const auto& l : kmem_lines) out += l.second;

  std::vector<std::pair<std::pair<std::string, decltype(SiteKey(nullptr))>,
                        std::string>>
      pool_lines;
  for (const auto& [key, c] : s.pool_sites) {
    if (c.objects == 0 && c.bytes == 0) continue;
    const std::string name = CacheName(key.first);
    pool_lines.push_back(
        {{name, SiteKey(key.second)},
         "pool \"" + name + "\": " + plural(c.objects, "object", "objects") +
             ", " + std::to_string(c.bytes) + " bytes at " +
             SiteName(key.second) + "\n"});
  }
  std::sort(pool_lines.begin(), pool_lines.end());
  for (const auto& l : pool_lines) out += l.second;
  return out;
}

bool InQuarantine(const void* p) { return FindQuarantined(Addr(p)) >= 0; }

void CheckQuarantine() {
  // oldest first; a block found written is released as it is reported
  const std::deque<Quarantined>& q = S().quarantine;
  for (size_t i = 0; i < q.size(); i++) {
    if (FirstUnpoisoned(reinterpret_cast<const void*>(q[i].addr),
                        q[i].size) != q[i].size) {
      Release(i);
      return;  // not reached
    }
  }
}

void FlushQuarantine() {
  CheckQuarantine();
  while (!S().quarantine.empty()) EvictOldest();
}

}  // namespace uvmemu::kmem
