// SPDX-License-Identifier: MIT
#include "vdec/base/slot_counter.h"

#include <utility>

namespace vdec {

SlotCounter::Slot& SlotCounter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    if (owner_) --owner_->held_;
    owner_ = std::exchange(other.owner_, nullptr);
  }
  return *this;
}

SlotCounter::Slot::~Slot() {
  if (owner_) --owner_->held_;
}

std::optional<SlotCounter::Slot> SlotCounter::tryAcquire() {
  if (held_ >= capacity_) return std::nullopt;
  ++held_;
  return Slot(this);
}

}  // namespace vdec
