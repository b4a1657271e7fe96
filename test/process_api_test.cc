// The public Process API: argument checking and error reporting.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "uvm/uvm.h"
#include "uvmemu/machine.h"

namespace uvmemu {
namespace {

constexpr uint64_t kPage = 4096;

class ProcessApiTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (Process* p : {&proc_}) (void)p->Exit();
    const absl::Status leaks = Kernel::CheckNoLeaks();
    EXPECT_TRUE(leaks.ok()) << leaks.message();
  }
  Machine machine_{{.physical_pages = 64}};
  Process proc_ = *machine_.Spawn();
};

TEST_F(ProcessApiTest, Mmap_ZeroLength_IsInvalidArgument) {
  EXPECT_EQ(proc_.Mmap(0, kReadWrite).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ProcessApiTest, Mmap_UnalignedLength_IsInvalidArgument) {
  EXPECT_EQ(proc_.Mmap(kPage + 1, kReadWrite).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ProcessApiTest, Mmap_HugeLength_IsRejectedNotWrapped) {
  const uint64_t huge = std::numeric_limits<uint64_t>::max() & ~(kPage - 1);
  EXPECT_EQ(proc_.Mmap(huge, kReadWrite).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(proc_.Mmap(kPage, kReadWrite, {.fixed_address = huge})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(proc_.vmspace()->vm_map.nentries, 0);
}

TEST_F(ProcessApiTest, Mmap_FixedOverlap_IsAlreadyExistsAndKeepsOriginal) {
  const uint64_t va = *proc_.Mmap(4 * kPage, kReadWrite);
  ASSERT_TRUE(proc_.Write(va + kPage, "x", 1).ok());
  const absl::StatusOr<uint64_t> again =
      proc_.Mmap(2 * kPage, kReadWrite, {.fixed_address = va});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  char c = 0;
  ASSERT_TRUE(proc_.Read(va + kPage, &c, 1).ok());
  EXPECT_EQ(c, 'x');
}

TEST_F(ProcessApiTest, Mmap_BadProtection_IsInvalidArgument) {
  EXPECT_EQ(proc_.Mmap(kPage, 0x40).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ProcessApiTest, ReadWrite_Unmapped_ReturnsOutOfRangeEfault) {
  char buf[8];
  const absl::Status s = proc_.Read(0x100000, buf, sizeof(buf));
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(s.message().find("EFAULT"), std::string::npos) << s.message();
  EXPECT_EQ(proc_.Write(0x100000, buf, sizeof(buf)).code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(ProcessApiTest, Write_ReadOnlyMapping_IsRefusedAndUnchanged) {
  const uint64_t va = *proc_.Mmap(kPage, kReadWrite);
  ASSERT_TRUE(proc_.Write(va, "abc", 3).ok());
  ASSERT_TRUE(proc_.Mprotect(va, kPage, kRead).ok());
  EXPECT_EQ(proc_.Write(va, "xyz", 3).code(), absl::StatusCode::kOutOfRange);
  char buf[4] = {};
  ASSERT_TRUE(proc_.Read(va, buf, 3).ok());
  EXPECT_STREQ(buf, "abc");
}

TEST_F(ProcessApiTest, Munmap_Unaligned_IsInvalidArgumentAndKeepsMapping) {
  const uint64_t va = *proc_.Mmap(2 * kPage, kReadWrite);
  EXPECT_EQ(proc_.Munmap(va + 1, kPage).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(proc_.vmspace()->vm_map.nentries, 1);
}

TEST_F(ProcessApiTest, AfterExit_EveryCallFailsCleanly) {
  ASSERT_TRUE(proc_.Exit().ok());
  EXPECT_EQ(proc_.Mmap(kPage, kReadWrite).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(proc_.Fork().status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(proc_.Exit().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ProcessApiTest, Machine_ExitsRemainingProcessesOnDestruction) {
  const uint64_t va = *proc_.Mmap(kPage, kReadWrite);
  ASSERT_TRUE(proc_.Write(va, "a", 1).ok());
  Process child = *proc_.Fork();
  EXPECT_EQ(machine_.live_processes(), 2u);
  ASSERT_TRUE(child.Exit().ok());
  EXPECT_EQ(machine_.live_processes(), 1u);
}

}  // namespace
}  // namespace uvmemu
