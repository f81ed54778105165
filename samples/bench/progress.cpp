// SPDX-License-Identifier: MIT
#include "samples/bench/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace vdec::bench {

Progress::Progress(int total)
    : total_(total), tty_(isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { finish(); }

void Progress::begin(const std::string& what) {
  what_ = what;
  active_ = true;
  if (tty_) draw();
}

void Progress::end(const std::string& result) {
  ++done_;
  if (!tty_) {
    std::fprintf(stderr, "[%d/%d] %s: %s\n", done_, total_, what_.c_str(), result.c_str());
    return;
  }
  what_ += ": " + result;
  draw();
}

void Progress::draw() {
  constexpr int kWidth = 30;
  const int filled = total_ > 0 ? done_ * kWidth / total_ : kWidth;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string eta = done_ > 0 && done_ < total_
                        ? fmt::format(", ~{:.0f} s left", elapsed / done_ * (total_ - done_))
                        : "";
  std::string line =
      fmt::format("\r[{}{}] {}/{} {:.0f} s{} {}", std::string(filled, '#'),
                  std::string(kWidth - filled, '.'), done_, total_, elapsed, eta, what_);
  if (line.size() > 120) line.resize(120);
  std::fprintf(stderr, "%s\x1b[K", line.c_str());
  std::fflush(stderr);
}

void Progress::finish() {
  if (tty_ && active_) std::fputc('\n', stderr);
  active_ = false;
}

}  // namespace vdec::bench
