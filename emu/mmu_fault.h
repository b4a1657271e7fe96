// Internal interfaces between the MMU's SIGSEGV handler
// (emu/mmu_signal.cc), its onfault recovery (emu/mmu_copy.cc) and its
// setup (emu/mmu.cc).
#ifndef UVMEMU_EMU_MMU_FAULT_H
#define UVMEMU_EMU_MMU_FAULT_H

namespace uvmemu::mmu::internal {

// Installs the SIGSEGV handler (on an alternate stack for the calling
// thread), remembering the action it replaces.
void InstallFaultHandler();
// Puts the action InstallFaultHandler replaced back.
void RestoreFaultHandler();

// Whether the calling thread is inside CopyIn/CopyOut.
bool OnfaultArmed();
// Ends the copy in progress: CopyIn/CopyOut return EFAULT.
[[noreturn]] void JumpToOnfault();

}  // namespace uvmemu::mmu::internal

#endif  // UVMEMU_EMU_MMU_FAULT_H
