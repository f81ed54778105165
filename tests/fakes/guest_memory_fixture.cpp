// SPDX-License-Identifier: MIT
#include "tests/fakes/guest_memory_fixture.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace vdec::testing {

std::byte* TestGuestMemory::host(uint64_t gpa) const {
  auto span = memory->translate(buffers::GuestAddress{gpa}, 1);
  return span ? span->data() : nullptr;
}

TestGuestMemory makeTestGuestMemory(uint64_t size, uint64_t base) {
  int fd = memfd_create("vdec-test-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(ftruncate(fd, static_cast<off_t>(size)), 0);
  // As QEMU's memory-backend-memfd: the device only maps memfds sealed against shrinking.
  EXPECT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  std::vector<buffers::GuestMemoryRegionSpec> specs;
  specs.push_back({base, size, 0x7f0000000000ull, 0, UniqueFd(fd)});
  auto memory = buffers::GuestMemory::create(std::move(specs));
  EXPECT_TRUE(memory.has_value());
  return {memory ? *memory : nullptr, base, size};
}

}  // namespace vdec::testing
