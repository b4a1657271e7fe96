// The emulated machine's physical memory: N page frames in a memfd with a
// read/write direct map, and one struct vm_page per frame.
#ifndef UVMEMU_EMU_ARENA_H
#define UVMEMU_EMU_ARENA_H

#include <cstddef>

#include <sys/types.h>

struct vm_page;

namespace uvmemu::arena {

// Create the memfd and the page array (pages zeroed, all free).  The
// arena must not already exist.
void Init(size_t npages);
// Release everything; pages must all be back on the free list.
void Shutdown();
bool Initialized();

size_t PageCount();
struct vm_page* Page(size_t index);       // index < PageCount()
struct vm_page* PageByPhys(paddr_t pa);   // nullptr if not a frame
void* FrameData(const struct vm_page* pg);  // direct-mapped bytes
// The memfd backing the frames (the MMU maps frames from it).
int MemfdDescriptor();

}  // namespace uvmemu::arena

#endif  // UVMEMU_EMU_ARENA_H
