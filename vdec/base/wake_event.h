// SPDX-License-Identifier: MIT
// WakeEvent: a non-blocking eventfd that worker threads signal to wake a poll loop.
#pragma once

#include <functional>

#include "vdec/base/unique_fd.h"

namespace vdec {

// Owns the eventfd. signaller() may be called from any thread while the WakeEvent lives; the
// owner must stop every thread that holds a signaller before destroying it. fd() and drain()
// belong to the thread that polls it.
class WakeEvent {
 public:
  WakeEvent();  // aborts if the kernel has no eventfd left: the device cannot run without one

  [[nodiscard]] int fd() const { return fd_.get(); }
  // Makes fd() readable (never blocks: the counter saturating only means it is readable).
  [[nodiscard]] std::function<void()> signaller() const;
  // Resets the counter, so fd() polls readable again only after the next signal.
  void drain();

 private:
  UniqueFd fd_;
};

}  // namespace vdec
