// SPDX-License-Identifier: MIT
#include "buffers/map_budget.h"

#include <algorithm>
#include <fstream>

namespace vdec::buffers {

uint64_t MapBudget::daemonLimit() {
  constexpr uint64_t kDefault = 16384;
  uint64_t maxMapCount = 0;
  std::ifstream file("/proc/sys/vm/max_map_count");
  if (file >> maxMapCount && maxMapCount > 0) return std::min(kDefault, maxMapCount / 4);
  return kDefault;
}

MapBudget& MapBudget::instance() {
  static MapBudget budget(daemonLimit());
  return budget;
}

bool MapBudget::tryCharge(uint64_t count) {
  uint64_t used = used_.load(std::memory_order_relaxed);
  do {
    if (count > limit_ || used > limit_ - count) return false;
  } while (!used_.compare_exchange_weak(used, used + count, std::memory_order_relaxed));
  return true;
}

void MapBudget::release(uint64_t count) { used_.fetch_sub(count, std::memory_order_relaxed); }

}  // namespace vdec::buffers
