// SPDX-License-Identifier: MIT
#include "vdec/base/memory_budget.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace vdec {
namespace {

TEST(MemoryBudgetTest, ChargesUpToTheLimitAndRefusesBeyond) {
  auto budget = MemoryBudget::create(100);
  auto a = budget->tryCharge(60);
  ASSERT_TRUE(a);
  EXPECT_EQ(budget->used(), 60u);
  EXPECT_FALSE(budget->tryCharge(41));  // refused: nothing taken
  EXPECT_EQ(budget->used(), 60u);
  EXPECT_EQ(budget->refusals(), 1u);
  auto b = budget->tryCharge(40);
  ASSERT_TRUE(b);
  EXPECT_EQ(budget->used(), 100u);
  EXPECT_TRUE(budget->tryCharge(0));
}

TEST(MemoryBudgetTest, ChargeReleasesOnDestructionResetAndMove) {
  auto budget = MemoryBudget::create(100);
  {
    auto charge = budget->tryCharge(70);
    ASSERT_TRUE(charge);
  }
  EXPECT_EQ(budget->used(), 0u);
  auto charge = budget->tryCharge(70);
  ASSERT_TRUE(charge);
  MemoryBudget::Charge moved = std::move(*charge);
  EXPECT_EQ(budget->used(), 70u);  // moved, not released
  charge.reset();
  EXPECT_EQ(budget->used(), 70u);
  moved = std::move(*budget->tryCharge(20));  // assigning releases what it held
  EXPECT_EQ(budget->used(), 20u);
  EXPECT_EQ(moved.bytes(), 20u);
  moved.reset();
  EXPECT_EQ(budget->used(), 0u);
  EXPECT_EQ(moved.bytes(), 0u);
}

TEST(MemoryBudgetTest, AChildChargesItsParentAndRespectsBothLimits) {
  auto daemon = MemoryBudget::create(100);
  auto stream1 = MemoryBudget::create(60, daemon);
  auto stream2 = MemoryBudget::create(60, daemon);
  auto a = stream1->tryCharge(60);
  ASSERT_TRUE(a);
  EXPECT_FALSE(stream1->tryCharge(1));  // the stream's share is spent
  EXPECT_EQ(daemon->used(), 60u);
  EXPECT_FALSE(stream2->tryCharge(41));  // the daemon's budget is spent: neither is charged
  EXPECT_EQ(stream2->used(), 0u);
  EXPECT_EQ(daemon->used(), 60u);
  auto b = stream2->tryCharge(40);
  ASSERT_TRUE(b);
  EXPECT_EQ(daemon->used(), 100u);
  a.reset();
  EXPECT_EQ(stream1->used(), 0u);
  EXPECT_EQ(daemon->used(), 40u);
}

TEST(MemoryBudgetTest, AChargeKeepsItsBudgetAlive) {
  auto daemon = MemoryBudget::create(100);
  std::optional<MemoryBudget::Charge> charge;
  {
    auto stream = MemoryBudget::create(50, daemon);
    charge = stream->tryCharge(30);
    ASSERT_TRUE(charge);
  }  // the stream is gone; a picture it decoded may still be referenced
  EXPECT_EQ(daemon->used(), 30u);
  charge.reset();
  EXPECT_EQ(daemon->used(), 0u);
}

TEST(MemoryBudgetTest, HugeChargesDoNotWrap) {
  auto budget = MemoryBudget::create(100);
  auto a = budget->tryCharge(50);
  EXPECT_FALSE(budget->tryCharge(UINT64_MAX));
  EXPECT_FALSE(budget->tryCharge(UINT64_MAX - 10));
  EXPECT_EQ(budget->used(), 50u);
}

TEST(MemoryBudgetTest, ConcurrentChargesNeverExceedTheLimit) {
  auto daemon = MemoryBudget::create(1000);
  auto stream = MemoryBudget::create(800, daemon);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        auto charge = stream->tryCharge(7);
        if (charge) {
          EXPECT_LE(stream->used(), 800u);
        }
        EXPECT_LE(daemon->used(), 1000u);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(stream->used(), 0u);
  EXPECT_EQ(daemon->used(), 0u);
}

}  // namespace
}  // namespace vdec
