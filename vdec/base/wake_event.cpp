// SPDX-License-Identifier: MIT
#include "vdec/base/wake_event.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "vdec/base/result.h"

namespace vdec {

WakeEvent::WakeEvent() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  VDEC_CHECK(fd_.isValid());
}

std::function<void()> WakeEvent::signaller() const {
  return [fd = fd_.get()] {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd, &one, sizeof(one));
  };
}

void WakeEvent::drain() {
  uint64_t counter = 0;
  [[maybe_unused]] auto n = ::read(fd_.get(), &counter, sizeof(counter));
}

}  // namespace vdec
