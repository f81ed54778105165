// SPDX-License-Identifier: MIT
#include "tests/samples/test_ring_device.h"

#include <cstring>

#include "virtio/virtio_ring.h"

namespace vdec::harness::testing {
namespace {

vring::VringDesc readDesc(const std::byte* table, uint32_t index) {
  vring::VringDesc desc;
  std::memcpy(&desc, table + 16ull * index, sizeof(desc));
  return desc;
}

}  // namespace

std::optional<DeviceChain> TestRingDevice::popAvail() {
  const uint16_t availIdx =
      __atomic_load_n(reinterpret_cast<const uint16_t*>(avail_ + 2), __ATOMIC_ACQUIRE);
  if (availIdx == lastAvail_) return std::nullopt;
  uint16_t head;
  std::memcpy(&head, avail_ + 4 + 2 * (lastAvail_ % size_), 2);
  ++lastAvail_;
  DeviceChain chain;
  chain.head = head;
  const std::byte* table = desc_;
  uint32_t tableSize = size_;
  uint32_t index = head;
  vring::VringDesc desc = readDesc(table, index);
  if (desc.flags & vring::VRING_DESC_F_INDIRECT) {
    chain.indirect = true;
    table = translate_(desc.addr, desc.len).data();
    tableSize = desc.len / 16;
    index = 0;
    desc = readDesc(table, 0);
  }
  for (uint32_t steps = 0; steps < tableSize; ++steps) {
    chain.descs.push_back({desc.addr, desc.len, (desc.flags & vring::VRING_DESC_F_WRITE) != 0});
    if (!(desc.flags & vring::VRING_DESC_F_NEXT)) break;
    index = desc.next;
    desc = readDesc(table, index);
  }
  return chain;
}

uint16_t TestRingDevice::pushUsed(uint16_t head, uint32_t len) {
  const vring::VringUsedElem elem{head, len};
  std::memcpy(used_ + 4 + 8 * (usedIdx_ % size_), &elem, sizeof(elem));
  ++usedIdx_;
  __atomic_store_n(reinterpret_cast<uint16_t*>(used_ + 2), usedIdx_, __ATOMIC_RELEASE);
  return usedIdx_;
}

void TestRingDevice::setUsedFlags(uint16_t flags) {
  __atomic_store_n(reinterpret_cast<uint16_t*>(used_), flags, __ATOMIC_RELEASE);
}

}  // namespace vdec::harness::testing
