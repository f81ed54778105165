// SPDX-License-Identifier: MIT
// TestRingDevice: a minimal device side of a split ring, for testing the harness's driver side.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace vdec::harness::testing {

struct DeviceDesc {
  uint64_t gpa = 0;
  uint32_t len = 0;
  bool writable = false;
};

struct DeviceChain {
  uint16_t head = 0;
  bool indirect = false;
  std::vector<DeviceDesc> descs;
};

// Reads the rings through `translate` (guest-physical address -> host bytes, as a device maps
// guest RAM). The ring addresses are host pointers already translated. Single-threaded.
class TestRingDevice {
 public:
  using Translate = std::function<std::span<std::byte>(uint64_t gpa, uint64_t length)>;
  TestRingDevice(Translate translate, std::byte* desc, std::byte* avail, std::byte* used,
                 uint32_t size)
      : translate_(std::move(translate)), desc_(desc), avail_(avail), used_(used), size_(size) {}

  // The next available chain (indirect tables followed), or nothing.
  std::optional<DeviceChain> popAvail();
  // Publishes a used element and returns the new used index.
  uint16_t pushUsed(uint16_t head, uint32_t len);
  void setUsedFlags(uint16_t flags);

 private:
  Translate translate_;
  std::byte* desc_;
  std::byte* avail_;
  std::byte* used_;
  uint32_t size_;
  uint16_t lastAvail_ = 0;
  uint16_t usedIdx_ = 0;
};

}  // namespace vdec::harness::testing
