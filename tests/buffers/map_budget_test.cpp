// SPDX-License-Identifier: MIT
// Issue 10 finding 4: scatter-gather windows are charged to a mapping budget.
#include "buffers/map_budget.h"

#include <vector>

#include <gtest/gtest.h>

#include "buffers/guest_pages.h"
#include "tests/fakes/guest_memory_fixture.h"

namespace vdec::buffers {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kBase = 0x100000;

// Every other page: each range is its own run, so its own mapping in a window.
std::vector<GuestRange> scatteredPages(uint64_t count) {
  std::vector<GuestRange> ranges;
  for (uint64_t i = 0; i < count; ++i)
    ranges.push_back({GuestAddress{kBase + 2 * i * kPage}, kPage});
  return ranges;
}

TEST(MapBudgetTest, ChargesUpToTheLimit) {
  MapBudget budget(10);
  EXPECT_TRUE(budget.tryCharge(6));
  EXPECT_FALSE(budget.tryCharge(5));
  EXPECT_TRUE(budget.tryCharge(4));
  EXPECT_FALSE(budget.tryCharge(1));
  budget.release(10);
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_FALSE(budget.tryCharge(11));
  EXPECT_LE(MapBudget::daemonLimit(), 16384u);
  EXPECT_GT(MapBudget::daemonLimit(), 0u);
}

TEST(MapBudgetTest, WindowsAreChargedAndRefunded) {
  auto ram = testing::makeTestGuestMemory(64 * kPage, kBase);
  MapBudget& budget = MapBudget::instance();
  const uint64_t before = budget.used();
  {
    auto pages = GuestPages::create(ram.memory, scatteredPages(8), 1 << 20);
    ASSERT_TRUE(pages.has_value());
    EXPECT_FALSE((*pages)->contiguous().empty());
    EXPECT_EQ(budget.used(), before + 9);  // 8 runs + the reservation
  }
  EXPECT_EQ(budget.used(), before);
  // Adjacent pages of the fd form one run: one mapping, however many entries.
  std::vector<GuestRange> adjacent = {{GuestAddress{kBase + 8 * kPage}, kPage},
                                      {GuestAddress{kBase + 9 * kPage}, kPage},
                                      {GuestAddress{kBase}, kPage}};
  auto pages = GuestPages::create(ram.memory, adjacent, 1 << 20);
  ASSERT_TRUE(pages.has_value());
  EXPECT_FALSE((*pages)->contiguous().empty());
  EXPECT_EQ(budget.used(), before + 3);
}

// The attack: output resources made of single non-adjacent pages took the daemon to
// vm.max_map_count, and the next std::thread threw. Now a window over budget is simply not
// built: the resource is written range by range.
TEST(MapBudgetTest, OverBudgetResourceGetsNoWindowButStillWorks) {
  const uint64_t count = MapBudget::kResourceWindowMappings + 1;
  auto ram = testing::makeTestGuestMemory(2 * count * kPage, kBase);
  auto pages = GuestPages::create(ram.memory, scatteredPages(count), 1 << 30);
  ASSERT_TRUE(pages.has_value());
  EXPECT_TRUE((*pages)->contiguous().empty());
  EXPECT_FALSE((*pages)->hasWindow());
  std::vector<std::byte> data(count * kPage, std::byte{3});
  EXPECT_TRUE((*pages)->write(0, data).has_value());
  EXPECT_EQ(*ram.host(kBase + 2 * (count - 1) * kPage), std::byte{3});

  // The daemon's budget: exhausted by others, a small window is refused too, and is built
  // again once mappings are released.
  MapBudget& budget = MapBudget::instance();
  const uint64_t taken = budget.limit() - budget.used();
  ASSERT_TRUE(budget.tryCharge(taken));
  auto small = GuestPages::create(ram.memory, scatteredPages(4), 1 << 20);
  ASSERT_TRUE(small.has_value());
  EXPECT_TRUE((*small)->contiguous().empty());
  budget.release(taken);
  auto later = GuestPages::create(ram.memory, scatteredPages(4), 1 << 20);
  ASSERT_TRUE(later.has_value());
  EXPECT_FALSE((*later)->contiguous().empty());
}

}  // namespace
}  // namespace vdec::buffers
