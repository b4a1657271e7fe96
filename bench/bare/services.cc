// No-op kernel services for the bare build of the port: the floor that
// the emulated services (emu/) are priced against.
//
//   - mutexes record their owner (one store, inline in sys/mutex.h under
//     UVMEMU_BARE; the port's KASSERTs read it through mutex_owned()) and
//     check nothing;
//   - kmem and pool caches are malloc/free: no accounting, no poisoning,
//     no quarantine, no failure injection;
//   - UVMHIST is compiled out of the port (UVMEMU_NO_UVMHIST);
//   - panic and failed KASSERTs print and abort (no trace, no backtrace).
#include <sys/kmem.h>
#include <sys/lwp.h>
#include <sys/mutex.h>
#include <sys/pool.h>
#include <sys/systm.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "bench/bare/bare_boot.h"
#include "uvm/uvm.h"

namespace {

struct cpu_info cpu0 = {{0}, 0};
struct lwp MakeLwp0() {
  struct lwp l = {};
  l.l_cpu = &cpu0;
  l.l_lid = 1;
  l.l_name = "lwp0";
  return l;
}

struct lwp lwp0 = MakeLwp0();

}  // namespace

struct lwp* uvmemu_curlwp = &lwp0;

void preempt(void) {}

void mutex_init(kmutex_t* mtx, kmutex_type_t, int) { mtx->mtx_owner = nullptr; }
void mutex_destroy(kmutex_t*) {}
int mutex_tryenter(kmutex_t* mtx) {
  mtx->mtx_owner = curlwp;
  return 1;
}
struct lwp* mutex_owner(const kmutex_t* mtx) {
  return mtx->mtx_owner;
}

struct kmem_ptr kmem_alloc_site(size_t size, km_flag_t, const kmem_site*) {
  return kmem_ptr{std::malloc(size)};
}
struct kmem_ptr kmem_zalloc_site(size_t size, km_flag_t, const kmem_site*) {
  return kmem_ptr{std::calloc(1, size)};
}
void kmem_free_site(void* p, size_t, const kmem_site*) { std::free(p); }
size_t kmem_roundup_size(size_t size) { return (size + 7) & ~size_t{7}; }

void pool_cache_bootstrap(struct pool_cache* pc, size_t size, unsigned int,
                          unsigned int, int, const char* wchan,
                          struct pool_allocator*, int,
                          int (*ctor)(void*, void*, int),
                          void (*dtor)(void*, void*), void* arg) {
  pc->pc_wchan = wchan;
  pc->pc_size = size;
  pc->pc_ctor = ctor;
  pc->pc_dtor = dtor;
  pc->pc_arg = arg;
}
void pool_cache_destroy(struct pool_cache*) {}
struct kmem_ptr pool_cache_get_site(struct pool_cache* pc, int flags,
                                    const kmem_site*) {
  void* p = std::malloc(pc->pc_size);
  if (p != nullptr && pc->pc_ctor != nullptr &&
      pc->pc_ctor(pc->pc_arg, p, flags) != 0) {
    std::free(p);
    p = nullptr;
  }
  return kmem_ptr{p};
}
void pool_cache_put_site(struct pool_cache* pc, void* p, const kmem_site*) {
  if (pc->pc_dtor != nullptr) pc->pc_dtor(pc->pc_arg, p);
  std::free(p);
}

void panic(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fputs("panic: ", stderr);
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  va_end(ap);
  std::abort();
}

void kern_assert_failed(const char* expr, const char* file, int line,
                        const char* func) {
  panic(
      "kernel diagnostic assertion \"%s\" failed: file \"%s\", line %d, "
      "function %s",
      expr, file, line, func);
}

namespace uvmemu::bench::bare {

void Boot() {
  static const bool booted = [] {
    uvm_anon_init();
    uvm_amap_init();
    return true;
  }();
  (void)booted;
}

}  // namespace uvmemu::bench::bare
