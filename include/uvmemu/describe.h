// Human-readable descriptions of kernel structures, for examples, test
// failure messages and the debugger.
#ifndef UVMEMU_DESCRIBE_H
#define UVMEMU_DESCRIBE_H

#include <string>

struct vm_amap;
struct vm_anon;

namespace uvmemu {

// "SHARED|SWAPOFF", or "none".
std::string AmapFlagsToString(int flags);

// The ppref runs as "[0,4) ref 2, [4,5) ref 3", "none" when not
// established, "PPREF_NONE" when establishing failed.
std::string DescribePpref(const vm_amap* amap);

// A multi-line picture of an amap: counters, every used slot with its
// anon (references, page frame, swap slot) and the ppref runs.
std::string DescribeAmap(const vm_amap* amap);

// One line: "anon ref 2, page pa 0x3000, no swap".
std::string DescribeAnon(const vm_anon* anon);

}  // namespace uvmemu

#endif  // UVMEMU_DESCRIBE_H
