// SPDX-License-Identifier: MIT
// SlotCounter: at most N holders at once, each holding a move-only Slot that gives its place
// back when destroyed. Used for "streams decoding at once" (--max-decoding-streams).
#pragma once

#include <cstdint>
#include <optional>

namespace vdec {

// Not thread-safe: one thread (the device thread) acquires and releases. The counter must
// outlive every Slot taken from it.
class SlotCounter {
 public:
  class Slot {
   public:
    Slot(Slot&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();

   private:
    friend class SlotCounter;
    explicit Slot(SlotCounter* owner) : owner_(owner) {}
    SlotCounter* owner_;
  };

  explicit SlotCounter(uint32_t capacity) : capacity_(capacity) {}
  SlotCounter(const SlotCounter&) = delete;
  SlotCounter& operator=(const SlotCounter&) = delete;

  // A slot if fewer than capacity() are held; nullopt otherwise.
  std::optional<Slot> tryAcquire();

  uint32_t capacity() const { return capacity_; }
  uint32_t held() const { return held_; }

 private:
  uint32_t capacity_;
  uint32_t held_ = 0;
};

}  // namespace vdec
