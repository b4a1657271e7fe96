// The in-memory swap device: slot allocation, freeing and data
// (lib/uvm_swap.cc).

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "uvm/uvm.h"
#include "uvmemu/kernel.h"
#include "uvmemu/panic.h"

namespace {

constexpr int kSlots = 8;

class SwapTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::Status leaks = uvmemu::Kernel::CheckNoLeaks();
    EXPECT_TRUE(leaks.ok()) << leaks.message();
  }

  static int Alloc(int n, bool lessok = false) {
    return uvm_swap_alloc(&n, lessok);
  }

  uvmemu::Kernel kernel_{
      uvmemu::KernelConfig{.physical_pages = 4, .swap_slots = kSlots}};
};

TEST_F(SwapTest, Init_DeviceEmpty) {
  EXPECT_EQ(uvmexp.swpages, kSlots);
  EXPECT_EQ(uvmexp.swpginuse, 0);
  EXPECT_EQ(uvm_swap_inuse(), 0);
}

TEST_F(SwapTest, AllocFree_TracksInuse) {
  int a = Alloc(1);
  EXPECT_EQ(a, 1);  // slots are numbered from 1; 0 means "no slot"
  int b = Alloc(3);
  EXPECT_EQ(b, 2);
  EXPECT_EQ(uvm_swap_inuse(), 4);
  EXPECT_EQ(uvmexp.swpginuse, 4);
  EXPECT_EQ(uvmemu::Kernel::Counts().swap_slots, 4);

  uvm_swap_free(b + 1, 2);  // part of a run
  EXPECT_EQ(uvm_swap_inuse(), 2);
  // First fit: the hole is reused.
  EXPECT_EQ(Alloc(2), 3);
  uvm_swap_free(3, 2);
  uvm_swap_free(b, 1);
  uvm_swap_free(a, 1);
  EXPECT_EQ(uvm_swap_inuse(), 0);

  uvm_swap_free(SWSLOT_BAD, 1);  // ignored, as in the kernel
  EXPECT_EQ(uvm_swap_inuse(), 0);
}

TEST_F(SwapTest, AllocWhenFull_ReturnsZero) {
  EXPECT_EQ(Alloc(kSlots), 1);
  EXPECT_EQ(Alloc(1), 0);
  EXPECT_EQ(Alloc(1, true), 0);
  uvm_swap_free(1, kSlots);
  EXPECT_EQ(Alloc(kSlots + 1), 0);
  EXPECT_EQ(uvm_swap_inuse(), 0);
}

TEST_F(SwapTest, AllocLessOk_FallsBackToOneSlot) {
  ASSERT_EQ(Alloc(kSlots), 1);
  uvm_swap_free(3, 1);
  uvm_swap_free(6, 1);
  // No run of two is free.
  EXPECT_EQ(Alloc(2), 0);
  int n = 2;
  EXPECT_EQ(uvm_swap_alloc(&n, true), 3);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(uvm_swap_inuse(), kSlots - 1);
  uvm_swap_free(1, 5);
  uvm_swap_free(7, 2);
  EXPECT_EQ(uvm_swap_inuse(), 0);
}

TEST_F(SwapTest, PutGet_RoundTripsPageData) {
  int slot = Alloc(2);
  ASSERT_NE(slot, 0);
  std::vector<uint8_t> a(PAGE_SIZE), b(PAGE_SIZE), out(PAGE_SIZE);
  for (int i = 0; i < PAGE_SIZE; i++) {
    a[i] = static_cast<uint8_t>(i);
    b[i] = static_cast<uint8_t>(255 - i);
  }
  uvm_swap_put(slot, a.data());
  uvm_swap_put(slot + 1, b.data());
  uvm_swap_get(slot, out.data());
  EXPECT_EQ(out, a);
  uvm_swap_get(slot + 1, out.data());
  EXPECT_EQ(out, b);
  uvm_swap_free(slot, 2);
}

TEST_F(SwapTest, FreeUnallocated_PanicsAndLeavesDeviceIntact) {
  int slot = Alloc(1);
  ASSERT_EQ(slot, 1);
  {
    uvmemu::ScopedPanicThrows throws;
    // Slot 2 is free: nothing of the range may be freed.
    try {
      uvm_swap_free(1, 2);
      ADD_FAILURE() << "freeing an unallocated slot did not panic";
    } catch (const uvmemu::KernelPanic& e) {
      EXPECT_NE(std::string(e.what()).find("slot 2 is not allocated"),
                std::string::npos)
          << e.what();
    }
    EXPECT_THROW(uvm_swap_free(kSlots + 1, 1), uvmemu::KernelPanic);
    std::vector<uint8_t> buf(PAGE_SIZE);
    EXPECT_THROW(uvm_swap_get(2, buf.data()), uvmemu::KernelPanic);
  }
  EXPECT_EQ(uvm_swap_inuse(), 1);
  uvm_swap_free(slot, 1);
  EXPECT_EQ(uvm_swap_inuse(), 0);
}

}  // namespace
