// SPDX-License-Identifier: MIT
#include "buffers/guest_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace vdec::buffers {
namespace {

UniqueFd memfdOfSize(uint64_t size) {
  UniqueFd fd(memfd_create("vdec-guest-memory-test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  EXPECT_TRUE(fd.isValid());
  EXPECT_EQ(ftruncate(fd.get(), static_cast<off_t>(size)), 0);
  // As QEMU's memory-backend-memfd: sealed against size changes.
  EXPECT_EQ(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  return fd;
}

std::vector<GuestMemoryRegionSpec> oneRegion(uint64_t gpa, uint64_t size, uint64_t offset,
                                             UniqueFd fd) {
  std::vector<GuestMemoryRegionSpec> specs;
  specs.push_back({gpa, size, 0x7f0000000000ull, offset, std::move(fd)});
  return specs;
}

TEST(GuestMemoryTest, TranslatesInsideTheRegionOnly) {
  auto memory = GuestMemory::create(oneRegion(0x100000, 1 << 20, 0, memfdOfSize(1 << 20)));
  ASSERT_TRUE(memory.has_value()) << memory.error().message;
  EXPECT_TRUE((*memory)->translate(GuestAddress{0x100000}, 4096).has_value());
  EXPECT_TRUE((*memory)->translate(GuestAddress{0x1ff000}, 4096).has_value());
  EXPECT_FALSE((*memory)->translate(GuestAddress{0x1ff001}, 4096).has_value());
  EXPECT_FALSE((*memory)->translate(GuestAddress{0xff000}, 4096).has_value());
  EXPECT_FALSE((*memory)->translate(GuestAddress{0x100000}, 0).has_value());
  EXPECT_FALSE((*memory)->translate(GuestAddress{~0ull - 10}, 4096).has_value());
  EXPECT_TRUE((*memory)->translateUser(0x7f0000000000ull, 16).has_value());
  EXPECT_FALSE((*memory)->translateUser(0x7f0000000000ull - 1, 16).has_value());
}

// Found by the vhost-user fuzzer: a region larger than its memfd mapped fine and the first
// touch of the missing part killed the daemon with SIGBUS.
TEST(GuestMemoryTest, RefusesRegionsPastTheEndOfTheirFd) {
  auto memory = GuestMemory::create(oneRegion(0x100000, 2 << 20, 0, memfdOfSize(1 << 20)));
  ASSERT_FALSE(memory.has_value());
  EXPECT_EQ(memory.error().code, ErrorCode::kInvalidParameter);
  memory = GuestMemory::create(oneRegion(0x100000, 1 << 20, 4096, memfdOfSize(1 << 20)));
  EXPECT_FALSE(memory.has_value());
}

TEST(GuestMemoryTest, RefusesBadRegions) {
  EXPECT_FALSE(GuestMemory::create(oneRegion(0x100000, 0, 0, memfdOfSize(4096))).has_value());
  EXPECT_FALSE(GuestMemory::create(oneRegion(~0ull - 100, 4096, 0, memfdOfSize(4096))).has_value());
  EXPECT_FALSE(GuestMemory::create(oneRegion(0x100000, 4096, 0, UniqueFd())).has_value());
  std::vector<GuestMemoryRegionSpec> overlapping;
  overlapping.push_back({0x100000, 8192, 0, 0, memfdOfSize(8192)});
  overlapping.push_back({0x101000, 8192, 0x10000, 0, memfdOfSize(8192)});
  EXPECT_FALSE(GuestMemory::create(std::move(overlapping)).has_value());
}

}  // namespace
}  // namespace vdec::buffers
