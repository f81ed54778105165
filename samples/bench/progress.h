// SPDX-License-Identifier: MIT
// Progress: a progress bar on stderr when it is a terminal, one line per step otherwise.
#pragma once

#include <chrono>
#include <string>

namespace vdec::bench {

// Threads: one owner thread.
class Progress {
 public:
  explicit Progress(int total);
  ~Progress();
  // Starts step `what` (shown while it runs); the previous step counts as done.
  void begin(const std::string& what);
  // A finished step's result, e.g. "87.3 fps"; on a terminal it shows in the bar's line.
  void end(const std::string& result);
  void finish();

 private:
  void draw();
  int total_;
  int done_ = 0;
  bool tty_;
  bool active_ = false;
  std::string what_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace vdec::bench
