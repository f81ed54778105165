// SPDX-License-Identifier: MIT
// MemoryBudget: how many bytes of host memory a guest may make the device hold, per stream and
// for the whole daemon.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

namespace vdec {

// Everything a guest or front-end can make the device allocate in proportion to what it sends
// (pending command chains, copied input, host pictures, resource entry tables) is charged here
// BEFORE it is allocated; a refused charge means "do not allocate" and becomes the protocol's
// error for that command or stream (docs/limits.md). Budgets nest: a stream's budget has the
// daemon's as its parent, and a charge is taken from both or from neither.
//
// A Charge is the RAII form of what was taken: it gives the bytes back when destroyed (or
// reset), whichever thread that happens on. It holds its budget alive, so a charge attached to
// memory that outlives its owner (a decoded picture still referenced by libavcodec) stays valid.
//
//   auto budget = MemoryBudget::create(1 << 30, daemonBudget);
//   std::optional<MemoryBudget::Charge> charge = budget->tryCharge(bytes);
//   if (!charge) return error(ERR_OUT_OF_MEMORY);   // nothing allocated, nothing taken
//   auto data = std::vector<uint8_t>(bytes);        // ... kept together with *charge
//
// Thread-safe (atomic counters; no locks).
class MemoryBudget : public std::enable_shared_from_this<MemoryBudget> {
 public:
  class Charge {
   public:
    Charge() = default;  // charges nothing
    ~Charge() { reset(); }
    Charge(Charge&& other) noexcept;
    Charge& operator=(Charge&& other) noexcept;
    Charge(const Charge&) = delete;
    Charge& operator=(const Charge&) = delete;

    // Gives the bytes back now (the charge then holds nothing).
    void reset();
    [[nodiscard]] uint64_t bytes() const { return bytes_; }

   private:
    friend class MemoryBudget;
    Charge(std::shared_ptr<MemoryBudget> budget, uint64_t bytes)
        : budget_(std::move(budget)), bytes_(bytes) {}
    std::shared_ptr<MemoryBudget> budget_;
    uint64_t bytes_ = 0;
  };

  // `parent` (may be null) is charged with everything charged here.
  static std::shared_ptr<MemoryBudget> create(uint64_t limit,
                                              std::shared_ptr<MemoryBudget> parent = nullptr);
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Takes `bytes` from this budget and every parent, or nothing (nullopt) if any of them would
  // go over its limit. A charge of 0 bytes always succeeds.
  [[nodiscard]] std::optional<Charge> tryCharge(uint64_t bytes);

  [[nodiscard]] uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  [[nodiscard]] uint64_t limit() const { return limit_; }
  // Charges refused since creation (for statistics and tests).
  [[nodiscard]] uint64_t refusals() const { return refusals_.load(std::memory_order_relaxed); }

 private:
  MemoryBudget(uint64_t limit, std::shared_ptr<MemoryBudget> parent)
      : limit_(limit), parent_(std::move(parent)) {}
  bool take(uint64_t bytes);
  void give(uint64_t bytes);

  const uint64_t limit_;
  const std::shared_ptr<MemoryBudget> parent_;
  std::atomic<uint64_t> used_{0};
  std::atomic<uint64_t> refusals_{0};
};

}  // namespace vdec
