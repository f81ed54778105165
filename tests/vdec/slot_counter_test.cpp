// SPDX-License-Identifier: MIT
#include "vdec/base/slot_counter.h"

#include <utility>

#include <gtest/gtest.h>

namespace vdec {
namespace {

TEST(SlotCounterTest, GivesAtMostCapacitySlots) {
  SlotCounter counter(2);
  auto a = counter.tryAcquire();
  auto b = counter.tryAcquire();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(counter.tryAcquire().has_value());
  EXPECT_EQ(counter.held(), 2u);
}

TEST(SlotCounterTest, DestroyedSlotGivesItsPlaceBack) {
  SlotCounter counter(1);
  {
    auto slot = counter.tryAcquire();
    ASSERT_TRUE(slot);
    EXPECT_FALSE(counter.tryAcquire());
  }
  EXPECT_EQ(counter.held(), 0u);
  EXPECT_TRUE(counter.tryAcquire());
}

TEST(SlotCounterTest, MovedSlotIsReleasedOnce) {
  SlotCounter counter(2);
  auto first = counter.tryAcquire();
  auto second = counter.tryAcquire();
  ASSERT_TRUE(first && second);
  SlotCounter::Slot moved = std::move(*first);
  first.reset();  // the moved-from slot holds nothing
  EXPECT_EQ(counter.held(), 2u);
  moved = std::move(*second);  // assignment releases what `moved` held
  EXPECT_EQ(counter.held(), 1u);
  second.reset();
  EXPECT_EQ(counter.held(), 1u);
}

TEST(SlotCounterTest, ZeroCapacityGivesNothing) {
  SlotCounter counter(0);
  EXPECT_FALSE(counter.tryAcquire());
}

}  // namespace
}  // namespace vdec
