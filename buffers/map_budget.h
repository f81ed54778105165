// SPDX-License-Identifier: MIT
// MapBudget: how many memory mappings the device may create for scatter-gather windows.
#pragma once

#include <atomic>
#include <cstdint>

namespace vdec::buffers {

// The kernel limits mappings per process (vm.max_map_count, 65530 by default); past it every
// mmap, and every std::thread (its stack is a mapping), fails. A guest chooses how scattered
// its buffers are, so the mappings of the contiguous host windows over scattered guest pages
// (GuestPages) are charged here first: at most kResourceWindowMappings for one resource and
// daemonLimit() in all. A window over the budget is not built; the resource is then written
// range by range (the bounce path), which is slower but needs no mapping. Thread-safe.
class MapBudget {
 public:
  // One resource's window: 4096 mappings cover a 16 MiB buffer of single scattered pages.
  static constexpr uint64_t kResourceWindowMappings = 4096;
  // The whole daemon: 16384, or a quarter of vm.max_map_count when that is lower.
  static uint64_t daemonLimit();

  // The process-wide budget.
  static MapBudget& instance();

  explicit MapBudget(uint64_t limit) : limit_(limit) {}
  // Takes `count` mappings from the budget; false (nothing taken) if that would exceed it.
  [[nodiscard]] bool tryCharge(uint64_t count);
  void release(uint64_t count);
  [[nodiscard]] uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  [[nodiscard]] uint64_t limit() const { return limit_; }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> used_{0};
};

}  // namespace vdec::buffers
