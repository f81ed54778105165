// SPDX-License-Identifier: MIT
#include "vdec/base/memory_budget.h"

#include <utility>

namespace vdec {

MemoryBudget::Charge::Charge(Charge&& other) noexcept
    : budget_(std::move(other.budget_)), bytes_(std::exchange(other.bytes_, 0)) {}

MemoryBudget::Charge& MemoryBudget::Charge::operator=(Charge&& other) noexcept {
  if (this != &other) {
    reset();
    budget_ = std::move(other.budget_);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void MemoryBudget::Charge::reset() {
  if (budget_) budget_->give(bytes_);
  budget_.reset();
  bytes_ = 0;
}

std::shared_ptr<MemoryBudget> MemoryBudget::create(uint64_t limit,
                                                   std::shared_ptr<MemoryBudget> parent) {
  return std::shared_ptr<MemoryBudget>(new MemoryBudget(limit, std::move(parent)));
}

std::optional<MemoryBudget::Charge> MemoryBudget::tryCharge(uint64_t bytes) {
  if (!take(bytes)) {
    refusals_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  return Charge(shared_from_this(), bytes);
}

// This budget first, then the parents; undone here if a parent refuses.
bool MemoryBudget::take(uint64_t bytes) {
  uint64_t used = used_.load(std::memory_order_relaxed);
  do {
    if (bytes > limit_ || used > limit_ - bytes) return false;
  } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  if (parent_ && !parent_->take(bytes)) {
    used_.fetch_sub(bytes, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void MemoryBudget::give(uint64_t bytes) {
  used_.fetch_sub(bytes, std::memory_order_relaxed);
  if (parent_) parent_->give(bytes);
}

}  // namespace vdec
