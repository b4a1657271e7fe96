// Rendering of UVMHIST messages (emu/hist_format.cc).
#ifndef UVMEMU_EMU_HIST_FORMAT_H
#define UVMEMU_EMU_HIST_FORMAT_H

#include <cstdint>
#include <string>

#include "uvmemu/trace.h"

namespace uvmemu::internal {

// Renders a NetBSD UVMHIST format with its four arguments.  With `names`,
// an argument that looks like a host pointer (PointerNames::
// LooksLikePointer) and is printed in hex, %p or %s is shown by its
// stable name instead (a "0x" written just before it by the format is
// dropped).
std::string FormatHistMessage(const char* fmt, const uint64_t args[4],
                              PointerNames* names);

}  // namespace uvmemu::internal

#endif  // UVMEMU_EMU_HIST_FORMAT_H
