// Fibers (emu/fiber.h).
//
// The switch saves the callee-saved registers on the running stack,
// stores the stack pointer, loads the other one and pops its registers:
// about 14 ns, against 225 ns for swapcontext, which also makes a
// signal-mask system call.  A new fiber's stack is prepared so that the
// first switch "returns" into uvmemu_fiber_start, which calls the entry
// function with its argument (both carried in callee-saved registers).
#include "emu/fiber.h"

#include <sys/mman.h>
#include <sys/systm.h>
#include <uvm/uvm_param.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define UVMEMU_FIBER_ASAN 1
#endif

#if defined(UVMEMU_FIBER_ASM)
extern "C" void uvmemu_fiber_switch(void** save_sp, void* load_sp);
extern "C" void uvmemu_fiber_start();
#endif

#if defined(__x86_64__)
// Frame: [mxcsr | x87 cw] r15 r14 r13 r12 rbx rbp <return address>.
// uvmemu_fiber_start is reached by `ret` with r12 = arg, r13 = entry and
// a 16-byte aligned stack; its CFI marks the end of the call chain.
asm(R"(
	.text
	.p2align 4
	.globl uvmemu_fiber_switch
	.type uvmemu_fiber_switch, @function
uvmemu_fiber_switch:
	.cfi_startproc
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	subq $8, %rsp
	stmxcsr (%rsp)
	fnstcw 4(%rsp)
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	ldmxcsr (%rsp)
	fldcw 4(%rsp)
	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.cfi_endproc
	.size uvmemu_fiber_switch, .-uvmemu_fiber_switch

	.p2align 4
	.globl uvmemu_fiber_start
	.type uvmemu_fiber_start, @function
uvmemu_fiber_start:
	.cfi_startproc
	.cfi_undefined rip
	movq %r12, %rdi
	callq *%r13
	ud2
	.cfi_endproc
	.size uvmemu_fiber_start, .-uvmemu_fiber_start
)");
#elif defined(__aarch64__)
// Frame (176 bytes): x19..x30 at 0..95, d8..d15 at 96..159, padding.
// uvmemu_fiber_start is reached by `ret` with x19 = arg, x20 = entry.
asm(R"(
	.text
	.p2align 4
	.globl uvmemu_fiber_switch
	.type uvmemu_fiber_switch, %function
uvmemu_fiber_switch:
	sub sp, sp, #176
	stp x19, x20, [sp, #0]
	stp x21, x22, [sp, #16]
	stp x23, x24, [sp, #32]
	stp x25, x26, [sp, #48]
	stp x27, x28, [sp, #64]
	stp x29, x30, [sp, #80]
	stp d8, d9, [sp, #96]
	stp d10, d11, [sp, #112]
	stp d12, d13, [sp, #128]
	stp d14, d15, [sp, #144]
	mov x9, sp
	str x9, [x0]
	mov sp, x1
	ldp x19, x20, [sp, #0]
	ldp x21, x22, [sp, #16]
	ldp x23, x24, [sp, #32]
	ldp x25, x26, [sp, #48]
	ldp x27, x28, [sp, #64]
	ldp x29, x30, [sp, #80]
	ldp d8, d9, [sp, #96]
	ldp d10, d11, [sp, #112]
	ldp d12, d13, [sp, #128]
	ldp d14, d15, [sp, #144]
	add sp, sp, #176
	ret
	.size uvmemu_fiber_switch, .-uvmemu_fiber_switch

	.p2align 4
	.globl uvmemu_fiber_start
	.type uvmemu_fiber_start, %function
uvmemu_fiber_start:
	.cfi_startproc
	.cfi_undefined x30
	mov x0, x19
	blr x20
	brk #0
	.cfi_endproc
	.size uvmemu_fiber_start, .-uvmemu_fiber_start
)");
#endif

namespace uvmemu::fiber {
namespace {

struct Mapping {
  char* base;
  size_t bytes;
};

// Released stacks, reused by the next fibers: exploration creates and
// ends thousands of LWPs.
std::vector<Mapping>& Pool() {
  static std::vector<Mapping>* pool = new std::vector<Mapping>;
  return *pool;
}

// The context a switch came from, for the ASan bookkeeping on arrival.
Context* g_from = nullptr;

Mapping NewStack() {
  if (!Pool().empty()) {
    Mapping m = Pool().back();
    Pool().pop_back();
    return m;
  }
  const size_t guard = PAGE_SIZE;
  const size_t bytes = guard + kStackBytes;
  void* mem =
      mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) panic("fiber: mmap of a stack: %s", strerror(errno));
  // the guard page turns an overflow into a fault, not corruption
  if (mprotect(mem, guard, PROT_NONE) != 0)
    panic("fiber: mprotect of a guard page: %s", strerror(errno));
  return Mapping{static_cast<char*>(mem), bytes};
}

#if !defined(UVMEMU_FIBER_ASM)
// makecontext passes int arguments: the Context's address in two halves.
void UcontextStart(unsigned hi, unsigned lo) {
  auto* ctx = reinterpret_cast<Context*>((uintptr_t{hi} << 32) | lo);
  ctx->start_entry(ctx->start_arg);
}
#endif

// Called on arrival in a context: tells ASan the switch is complete and
// records the stack the previous context was on.
void Arrived(Context* self) {
#if defined(UVMEMU_FIBER_ASAN)
  const void* bottom = nullptr;
  size_t size = 0;
  __sanitizer_finish_switch_fiber(
      self != nullptr ? self->asan_fake_stack : nullptr, &bottom, &size);
  if (g_from != nullptr) {
    g_from->stack_bottom = bottom;
    g_from->stack_size = size;
  }
#else
  (void)self;
#endif
}

}  // namespace

void Make(Context& ctx, void (*entry)(void*), void* arg) {
  const Mapping m = NewStack();
  ctx.mapping = m.base;
  ctx.mapping_bytes = m.bytes;
  char* const bottom = m.base + PAGE_SIZE;
  char* const top = m.base + m.bytes;
  ctx.stack_bottom = bottom;
  ctx.stack_size = kStackBytes;
  ctx.asan_fake_stack = nullptr;
#if defined(UVMEMU_FIBER_ASAN)
  // a reused stack keeps the poisoning of the frames that never returned
  __asan_unpoison_memory_region(bottom, kStackBytes);
#endif
#if defined(__x86_64__)
  auto* sp = reinterpret_cast<uint64_t*>(top) - 8;
  std::memset(sp, 0, 8 * sizeof(uint64_t));
  sp[0] = 0x1f80 | (uint64_t{0x037f} << 32);  // default mxcsr, x87 cw
  sp[3] = reinterpret_cast<uint64_t>(entry);  // r13
  sp[4] = reinterpret_cast<uint64_t>(arg);    // r12
  sp[7] = reinterpret_cast<uint64_t>(&uvmemu_fiber_start);
  ctx.sp = sp;
#elif defined(__aarch64__)
  auto* sp = reinterpret_cast<uint64_t*>(top - 176);
  std::memset(sp, 0, 176);
  sp[0] = reinterpret_cast<uint64_t>(arg);                   // x19
  sp[1] = reinterpret_cast<uint64_t>(entry);                 // x20
  sp[11] = reinterpret_cast<uint64_t>(&uvmemu_fiber_start);  // x30
  ctx.sp = sp;
#else
  if (getcontext(&ctx.uc) != 0) panic("fiber: getcontext failed");
  ctx.uc.uc_stack.ss_sp = bottom;
  ctx.uc.uc_stack.ss_size = kStackBytes;
  ctx.uc.uc_link = nullptr;
  ctx.start_entry = entry;
  ctx.start_arg = arg;
  const auto addr = reinterpret_cast<uintptr_t>(&ctx);
  makecontext(&ctx.uc, reinterpret_cast<void (*)()>(&UcontextStart), 2,
              static_cast<unsigned>(addr >> 32),
              static_cast<unsigned>(addr & 0xffffffffu));
#endif
}

void Release(Context& ctx) {
  if (ctx.mapping == nullptr) return;
  Pool().push_back(Mapping{ctx.mapping, ctx.mapping_bytes});
  ctx.mapping = nullptr;
  ctx.mapping_bytes = 0;
}

void Switch(Context& from, Context& to, bool exiting) {
#if defined(UVMEMU_FIBER_ASAN)
  __sanitizer_start_switch_fiber(exiting ? nullptr : &from.asan_fake_stack,
                                 to.stack_bottom, to.stack_size);
#else
  (void)exiting;
#endif
  g_from = &from;
#if defined(UVMEMU_FIBER_ASM)
  uvmemu_fiber_switch(&from.sp, to.sp);
#else
  if (swapcontext(&from.uc, &to.uc) != 0) panic("fiber: swapcontext failed");
#endif
  Arrived(&from);
}

void Started() { Arrived(nullptr); }

}  // namespace uvmemu::fiber
