// SPDX-License-Identifier: MIT
// A memfd-backed GuestMemory for unit tests, with direct host access to its bytes.
#pragma once

#include <memory>

#include "buffers/guest_memory.h"

namespace vdec::testing {

struct TestGuestMemory {
  std::shared_ptr<buffers::GuestMemory> memory;
  uint64_t base = 0;
  uint64_t size = 0;
  std::byte* host(uint64_t gpa) const;  // host pointer of a guest address inside the RAM
};

// One region of `size` bytes at guest-physical `base`.
TestGuestMemory makeTestGuestMemory(uint64_t size, uint64_t base = 0x10000000);

}  // namespace vdec::testing
