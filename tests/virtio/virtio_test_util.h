// SPDX-License-Identifier: MIT
// Test helpers: memfd-backed guest RAM and a driver-side view of a split ring inside it.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <span>

#include <gtest/gtest.h>

#include "buffers/guest_memory.h"
#include "virtio/virtio_ring.h"
#include "virtio/virtqueue.h"

namespace vdec::virtio::testing {

inline constexpr uint64_t kGuestBase = 0x100000;       // guest-physical start of RAM
inline constexpr uint64_t kUserBase = 0x7f0000000000;  // where the "VMM" mapped it

// Sealed against shrinking and growing, as QEMU's memory-backend-memfd (the device refuses a
// memfd that could shrink but is not sealed).
inline UniqueFd makeMemfd(uint64_t size, bool seal = true) {
  UniqueFd fd(::memfd_create("vdec-test-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  EXPECT_TRUE(fd.isValid());
  EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
  if (seal) {
    EXPECT_EQ(::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  }
  return fd;
}

// One region of guest RAM at kGuestBase.
struct TestRam {
  // sealed = false: a memfd that cannot be sealed (stands for a tmpfs/hugetlbfs file), which
  // the device accepts but accesses through SIGBUS guards only.
  explicit TestRam(uint64_t size = 4u << 20, bool sealed = true) : size(size) {
    std::vector<buffers::GuestMemoryRegionSpec> specs;
    UniqueFd fd = sealed ? makeMemfd(size) : UniqueFd(::memfd_create("vdec-test-ram", MFD_CLOEXEC));
    if (!sealed) {
      EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
    }
    specs.push_back({kGuestBase, size, kUserBase, 0, std::move(fd)});
    auto created = buffers::GuestMemory::create(std::move(specs));
    EXPECT_TRUE(created.has_value());
    memory = *created;
    bytes = *memory->translate(buffers::GuestAddress{kGuestBase}, size);
  }
  template <typename T>
  void write(uint64_t gpa, const T& value) {
    std::memcpy(bytes.data() + (gpa - kGuestBase), &value, sizeof(T));
  }
  template <typename T>
  T read(uint64_t gpa) const {
    T value;
    std::memcpy(&value, bytes.data() + (gpa - kGuestBase), sizeof(T));
    return value;
  }
  std::span<std::byte> at(uint64_t gpa, size_t length) const {
    return bytes.subspan(gpa - kGuestBase, length);
  }

  uint64_t size;
  std::shared_ptr<const buffers::GuestMemory> memory;
  std::span<std::byte> bytes;
};

// The driver's side of one ring; offsets are from kGuestBase.
struct TestRing {
  TestRing(TestRam& ram, uint16_t size, uint64_t offset)
      : ram(ram),
        size(size),
        desc(kGuestBase + offset),
        avail(desc + 0x1000),
        used(desc + 0x2000) {}

  void setDesc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0) {
    ram.write(desc + 16ull * index, vring::VringDesc{addr, len, flags, next});
  }
  void publish(uint16_t head) {
    ram.write<uint16_t>(avail + 4 + 2ull * (availIdx % size), head);
    setAvailIdx(static_cast<uint16_t>(availIdx + 1));
  }
  void setAvailIdx(uint16_t idx) {
    availIdx = idx;
    ram.write<uint16_t>(avail + 2, idx);
  }
  uint16_t usedIdx() const { return ram.read<uint16_t>(used + 2); }
  vring::VringUsedElem usedElem(uint16_t slot) const {
    return ram.read<vring::VringUsedElem>(used + 4 + 8ull * (slot % size));
  }
  VirtqueueLayout layout(uint16_t nextAvail = 0) const {
    return {size, desc - kGuestBase + kUserBase, avail - kGuestBase + kUserBase,
            used - kGuestBase + kUserBase, nextAvail};
  }
  Virtqueue queue(uint16_t nextAvail = 0) const {
    auto q = Virtqueue::create(ram.memory, layout(nextAvail));
    EXPECT_TRUE(q.has_value()) << (q ? "" : q.error().message);
    return std::move(*q);
  }

  TestRam& ram;
  uint16_t size;
  uint64_t desc, avail, used;
  uint16_t availIdx = 0;
};

}  // namespace vdec::virtio::testing
