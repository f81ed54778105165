// SPDX-License-Identifier: MIT
// LogLimiter: at most one log line per cause per interval, for conditions a guest can repeat.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace vdec {

// A guest or front-end that repeats a bad request must not flood the host log, and must not
// silence it either: the first occurrence of a cause is logged, later ones within `interval`
// are counted and folded into the next line that is let through. Causes are short fixed
// strings ("indirect table too long"), never guest data. Thread-safe.
//
//   static LogLimiter limiter;
//   if (auto n = limiter.admit("loop in chain")) log.warn("... ({} times)", *n);
class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::milliseconds interval = std::chrono::seconds(1))
      : interval_(interval) {}

  // nullopt: count it and stay quiet. Otherwise: log now; the value is how many times the cause
  // occurred since the last line (this one included).
  std::optional<uint64_t> admit(std::string_view cause);

 private:
  struct State {
    std::chrono::steady_clock::time_point last{};
    uint64_t suppressed = 0;
    bool logged = false;
  };
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::map<std::string, State, std::less<>> causes_;
};

}  // namespace vdec
