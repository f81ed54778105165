// SPDX-License-Identifier: MIT
// Split virtqueue layout (virtio 1.x, little-endian). Shared by device and harness driver.
#pragma once

#include <cstdint>

// NOLINTBEGIN(readability-identifier-naming)
namespace vdec::vring {

inline constexpr uint16_t VRING_DESC_F_NEXT = 1;
inline constexpr uint16_t VRING_DESC_F_WRITE = 2;
inline constexpr uint16_t VRING_DESC_F_INDIRECT = 4;
inline constexpr uint16_t VRING_AVAIL_F_NO_INTERRUPT = 1;
inline constexpr uint16_t VRING_USED_F_NO_NOTIFY = 1;
inline constexpr uint32_t kMaxQueueSize = 32768;

struct VringDesc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};

struct VringAvailHeader {
  uint16_t flags;
  uint16_t idx;
  // uint16_t ring[num]; uint16_t used_event;
};

struct VringUsedElem {
  uint32_t id;
  uint32_t len;
};

struct VringUsedHeader {
  uint16_t flags;
  uint16_t idx;
  // VringUsedElem ring[num]; uint16_t avail_event;
};

static_assert(sizeof(VringDesc) == 16);
static_assert(sizeof(VringUsedElem) == 8);

inline constexpr uint64_t descTableSize(uint32_t num) { return 16ull * num; }
inline constexpr uint64_t availRingSize(uint32_t num) { return 4 + 2ull * num + 2; }
inline constexpr uint64_t usedRingSize(uint32_t num) { return 4 + 8ull * num + 2; }
// VIRTIO_RING_F_EVENT_IDX fields, inside the sizes above: used_event trails the avail ring
// (written by the driver), avail_event trails the used ring (written by the device).
inline constexpr uint64_t usedEventOffset(uint32_t num) { return 4 + 2ull * num; }
inline constexpr uint64_t availEventOffset(uint32_t num) { return 4 + 8ull * num; }

// vring_need_event() (virtio 1.x 2.7.7.2, 2.7.10): after moving an index from oldIdx to newIdx,
// notify iff the other side's event index lies in [oldIdx, newIdx) modulo 2^16.
inline constexpr bool needEvent(uint16_t eventIdx, uint16_t newIdx, uint16_t oldIdx) {
  return static_cast<uint16_t>(newIdx - eventIdx - 1) < static_cast<uint16_t>(newIdx - oldIdx);
}

}  // namespace vdec::vring
// NOLINTEND(readability-identifier-naming)
