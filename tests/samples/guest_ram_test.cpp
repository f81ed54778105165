// SPDX-License-Identifier: MIT
// GuestRam: sealing, contiguous and scattered allocation, reuse, exhaustion.
#include "samples/harness/guest_ram.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>

#include <gtest/gtest.h>

namespace vdec::harness {
namespace {

constexpr uint64_t kPage = 4096;

TEST(GuestRamTest, IsASealedMemfdAtANonZeroBase) {
  auto ram = GuestRam::create(1 << 20);
  ASSERT_TRUE(ram) << ram.error().message;
  EXPECT_EQ(ram->base(), 0x40000000u);
  EXPECT_EQ(ram->size(), 1u << 20);
  const int seals = ::fcntl(ram->fd(), F_GET_SEALS);
  EXPECT_TRUE(seals & F_SEAL_GROW);
  EXPECT_TRUE(seals & F_SEAL_SHRINK);
  EXPECT_NE(ram->userAddr(), 0u);
}

TEST(GuestRamTest, ContiguousHonoursAlignment) {
  auto ram = GuestRam::create(4 << 20);
  ASSERT_TRUE(ram);
  auto small = ram->allocContiguous(100);
  ASSERT_TRUE(small);
  EXPECT_EQ(small->length, kPage);
  auto aligned = ram->allocContiguous(3 * kPage, 64 * 1024);
  ASSERT_TRUE(aligned) << aligned.error().message;
  EXPECT_EQ(aligned->address.value % (64 * 1024), 0u);
  EXPECT_EQ(aligned->length, 3 * kPage);
  EXPECT_NE(aligned->address.value, small->address.value);
  EXPECT_FALSE(ram->allocContiguous(kPage, 1000));  // not a power of two
}

TEST(GuestRamTest, ScatteredRunsAreNeverAdjacent) {
  auto ram = GuestRam::create(8 << 20);
  ASSERT_TRUE(ram);
  ASSERT_TRUE(ram->allocContiguous(kPage));  // something already in use below
  auto runs = ram->allocScattered(300 * 1024);
  ASSERT_TRUE(runs) << runs.error().message;
  ASSERT_GT(runs->size(), 4u);
  uint64_t total = 0;
  bool varied = false;
  for (size_t i = 0; i < runs->size(); ++i) {
    const auto& run = (*runs)[i];
    EXPECT_EQ(run.address.value % kPage, 0u);
    EXPECT_GE(run.length, kPage);
    EXPECT_LE(run.length, 4 * kPage);
    varied |= run.length != (*runs)[0].length;
    total += run.length;
    for (size_t j = 0; j < runs->size(); ++j) {
      if (i == j) continue;
      const auto& other = (*runs)[j];
      // No two runs touch or overlap, so nothing can be merged into one segment.
      EXPECT_TRUE(run.address.value + run.length < other.address.value ||
                  other.address.value + other.length < run.address.value)
          << "runs " << i << " and " << j;
    }
  }
  EXPECT_TRUE(varied);
  EXPECT_GE(total, 300u * 1024);
  EXPECT_LT(total, 300u * 1024 + 4 * kPage);
  // Not in ascending order either.
  EXPECT_FALSE(std::is_sorted(runs->begin(), runs->end(), [](const auto& a, const auto& b) {
    return a.address.value < b.address.value;
  }));
}

TEST(GuestRamTest, ReadWriteGatherAcrossRuns) {
  auto ram = GuestRam::create(1 << 20);
  ASSERT_TRUE(ram);
  auto runs = ram->allocScattered(5 * kPage);
  ASSERT_TRUE(runs);
  std::vector<std::byte> data(3 * kPage + 123);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7);
  ram->write(*runs, 1000, data);
  std::vector<std::byte> back(data.size());
  ram->read(*runs, 1000, back);
  EXPECT_EQ(back, data);
  // The first byte landed 1000 bytes into the first run.
  EXPECT_EQ(ram->at((*runs)[0].address.value + 1000, 1)[0], data[0]);
}

TEST(GuestRamTest, FreedPagesAreReused) {
  auto ram = GuestRam::create(16 * kPage);
  ASSERT_TRUE(ram);
  auto a = ram->allocContiguous(8 * kPage);
  auto b = ram->allocContiguous(8 * kPage);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(ram->allocContiguous(kPage));
  ram->free(*a);
  auto c = ram->allocContiguous(8 * kPage);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address.value, a->address.value);
}

TEST(GuestRamTest, OutOfSpaceIsAnErrorAndLeaksNothing) {
  auto ram = GuestRam::create(32 * kPage);
  ASSERT_TRUE(ram);
  auto big = ram->allocContiguous(64 * kPage);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kOutOfMemory);
  auto scattered = ram->allocScattered(64 * kPage);
  ASSERT_FALSE(scattered);
  EXPECT_EQ(scattered.error().code, ErrorCode::kOutOfMemory);
  // The failed scattered allocation gave its runs back.
  EXPECT_TRUE(ram->allocContiguous(32 * kPage));
}

}  // namespace
}  // namespace vdec::harness
