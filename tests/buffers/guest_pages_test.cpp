// SPDX-License-Identifier: MIT
#include "buffers/guest_pages.h"

#include <cstring>
#include <numeric>
#include <string>

#include <gtest/gtest.h>

#include "tests/fakes/guest_memory_fixture.h"

namespace vdec::buffers {
namespace {

class GuestPagesTest : public ::testing::Test {
 protected:
  void SetUp() override { ram_ = testing::makeTestGuestMemory(1 << 20, 0x100000); }
  testing::TestGuestMemory ram_;
};

TEST_F(GuestPagesTest, ContiguousRangeIsOneMapping) {
  auto pages = GuestPages::create(ram_.memory, {{GuestAddress{0x100000}, 8192}}, 1 << 20);
  ASSERT_TRUE(pages.has_value()) << pages.error().message;
  EXPECT_EQ((*pages)->size(), 8192u);
  EXPECT_EQ((*pages)->contiguous().size(), 8192u);
  EXPECT_EQ((*pages)->contiguous().data(), ram_.host(0x100000));
}

TEST_F(GuestPagesTest, WriteSpansScatteredSegmentsInOrder) {
  // Two pages in reverse guest order: the resource's bytes 0..4095 live at the higher address.
  auto pages = GuestPages::create(
      ram_.memory, {{GuestAddress{0x103000}, 4096}, {GuestAddress{0x101000}, 4096}}, 1 << 20);
  ASSERT_TRUE(pages.has_value());
  EXPECT_EQ((*pages)->kind(), std::string("guest pages (scatter-gather)"));
  std::vector<std::byte> data(6000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i * 7);
  ASSERT_TRUE((*pages)->write(1000, data).has_value());
  EXPECT_EQ(std::memcmp(ram_.host(0x103000 + 1000), data.data(), 3096), 0);
  EXPECT_EQ(std::memcmp(ram_.host(0x101000), data.data() + 3096, 6000 - 3096), 0);
  std::vector<std::byte> back(6000);
  ASSERT_TRUE((*pages)->read(1000, back).has_value());
  EXPECT_EQ(back, data);
}

// Scattered whole pages get one contiguous host window onto the same guest pages.
TEST_F(GuestPagesTest, WindowMapsTheSameBytesAsTheSegments) {
  auto pages = GuestPages::create(ram_.memory,
                                  {{GuestAddress{0x105000}, 8192},
                                   {GuestAddress{0x101000}, 4096},
                                   {GuestAddress{0x10a000}, 3000}},
                                  1 << 20);
  ASSERT_TRUE(pages.has_value());
  std::span<std::byte> window = (*pages)->contiguous();
  ASSERT_EQ(window.size(), 8192u + 4096 + 3000);
  EXPECT_TRUE((*pages)->hasWindow());
  EXPECT_NE(window.data(), ram_.host(0x105000));
  // Guest writes show through the window...
  for (uint64_t i = 0; i < 8192; ++i) *ram_.host(0x105000 + i) = std::byte(i * 3);
  for (uint64_t i = 0; i < 4096; ++i) *ram_.host(0x101000 + i) = std::byte(i * 5 + 1);
  for (uint64_t i = 0; i < 3000; ++i) *ram_.host(0x10a000 + i) = std::byte(i * 7 + 2);
  EXPECT_EQ(std::memcmp(window.data(), ram_.host(0x105000), 8192), 0);
  EXPECT_EQ(std::memcmp(window.data() + 8192, ram_.host(0x101000), 4096), 0);
  EXPECT_EQ(std::memcmp(window.data() + 12288, ram_.host(0x10a000), 3000), 0);
  // ...and writes through the window land in the guest's pages, as segment reads see them.
  std::vector<std::byte> pattern(window.size());
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = std::byte(i * 11 + 3);
  std::memcpy(window.data(), pattern.data(), pattern.size());
  std::vector<std::byte> back(pattern.size());
  ASSERT_TRUE((*pages)->read(0, back).has_value());
  EXPECT_EQ(back, pattern);
  EXPECT_EQ(*ram_.host(0x101000), pattern[8192]);
  // Built once: the same window every time.
  EXPECT_EQ((*pages)->contiguous().data(), window.data());
}

TEST_F(GuestPagesTest, UnalignedSegmentsGetNoWindow) {
  struct Case {
    const char* name;
    std::vector<GuestRange> ranges;
  } cases[] = {
      {"start inside a page", {{GuestAddress{0x103100}, 3840}, {GuestAddress{0x101000}, 4096}}},
      {"short middle range", {{GuestAddress{0x103000}, 4000}, {GuestAddress{0x101000}, 4096}}},
      {"last starts inside a page", {{GuestAddress{0x103000}, 4096}, {GuestAddress{0x101010}, 64}}},
  };
  for (const auto& c : cases) {
    auto pages = GuestPages::create(ram_.memory, c.ranges, 1 << 20);
    ASSERT_TRUE(pages.has_value()) << c.name;
    EXPECT_TRUE((*pages)->contiguous().empty()) << c.name;
    EXPECT_FALSE((*pages)->hasWindow()) << c.name;
    // Still usable through the scatter path.
    std::vector<std::byte> data(100, std::byte{0x5A});
    EXPECT_TRUE((*pages)->write(0, data).has_value()) << c.name;
  }
}

TEST_F(GuestPagesTest, OutOfRangeAccessFailsWithoutWriting) {
  auto pages = GuestPages::create(ram_.memory, {{GuestAddress{0x100000}, 4096}}, 1 << 20);
  ASSERT_TRUE(pages.has_value());
  std::vector<std::byte> data(16, std::byte{0xAB});
  EXPECT_FALSE((*pages)->write(4090, data).has_value());
  EXPECT_FALSE((*pages)->write(~0ull - 4, data).has_value());
  EXPECT_NE(*ram_.host(0x100000 + 4090), std::byte{0xAB});
  std::vector<std::byte> out(16);
  EXPECT_FALSE((*pages)->read(4095, out).has_value());
}

TEST_F(GuestPagesTest, RejectsBadRanges) {
  struct Case {
    const char* name;
    std::vector<GuestRange> ranges;
  } cases[] = {
      {"empty list", {}},
      {"zero length", {{GuestAddress{0x100000}, 0}}},
      {"below RAM", {{GuestAddress{0x1000}, 4096}}},
      {"past RAM end", {{GuestAddress{0x1ff000}, 8192}}},
      {"wraps 2^64", {{GuestAddress{~0ull - 10}, 4096}}},
      {"huge", {{GuestAddress{0x100000}, ~0ull}}},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(GuestPages::create(ram_.memory, c.ranges, 1 << 20).has_value()) << c.name;
  }
  // Total above the limit, and the same range many times overflowing the running total.
  std::vector<GuestRange> many(300, GuestRange{GuestAddress{0x100000}, 1 << 19});
  EXPECT_FALSE(GuestPages::create(ram_.memory, many, 1 << 20).has_value());
  EXPECT_FALSE(GuestPages::create(nullptr, {{GuestAddress{0x100000}, 4096}}, 1 << 20).has_value());
}

}  // namespace
}  // namespace vdec::buffers
