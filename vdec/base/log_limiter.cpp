// SPDX-License-Identifier: MIT
#include "vdec/base/log_limiter.h"

namespace vdec {

std::optional<uint64_t> LogLimiter::admit(std::string_view cause) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  auto it = causes_.find(cause);
  if (it == causes_.end()) {
    // Causes are a fixed set of literals per call site: the map stays small.
    it = causes_.emplace(std::string(cause), State{}).first;
  }
  State& state = it->second;
  if (state.logged && now - state.last < interval_) {
    ++state.suppressed;
    return std::nullopt;
  }
  const uint64_t count = state.suppressed + 1;
  state.last = now;
  state.suppressed = 0;
  state.logged = true;
  return count;
}

}  // namespace vdec
