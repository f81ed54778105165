// SPDX-License-Identifier: MIT
// vhost-user message ids, flags and payload layouts (QEMU docs/interop/vhost-user.rst, v10.2).
// Native byte order, packed. Shared by the back-end server and the harness front-end.
#pragma once

#include <cstdint>

// NOLINTBEGIN(readability-identifier-naming)
namespace vdec::vhost {

enum FrontendRequest : uint32_t {
  VHOST_USER_GET_FEATURES = 1,
  VHOST_USER_SET_FEATURES = 2,
  VHOST_USER_SET_OWNER = 3,
  VHOST_USER_RESET_OWNER = 4,
  VHOST_USER_SET_MEM_TABLE = 5,
  VHOST_USER_SET_LOG_BASE = 6,
  VHOST_USER_SET_LOG_FD = 7,
  VHOST_USER_SET_VRING_NUM = 8,
  VHOST_USER_SET_VRING_ADDR = 9,
  VHOST_USER_SET_VRING_BASE = 10,
  VHOST_USER_GET_VRING_BASE = 11,
  VHOST_USER_SET_VRING_KICK = 12,
  VHOST_USER_SET_VRING_CALL = 13,
  VHOST_USER_SET_VRING_ERR = 14,
  VHOST_USER_GET_PROTOCOL_FEATURES = 15,
  VHOST_USER_SET_PROTOCOL_FEATURES = 16,
  VHOST_USER_GET_QUEUE_NUM = 17,
  VHOST_USER_SET_VRING_ENABLE = 18,
  VHOST_USER_SEND_RARP = 19,
  VHOST_USER_NET_SET_MTU = 20,
  VHOST_USER_SET_BACKEND_REQ_FD = 21,
  VHOST_USER_IOTLB_MSG = 22,
  VHOST_USER_SET_VRING_ENDIAN = 23,
  VHOST_USER_GET_CONFIG = 24,
  VHOST_USER_SET_CONFIG = 25,
  VHOST_USER_RESET_DEVICE = 34,
  VHOST_USER_GET_MAX_MEM_SLOTS = 36,
  VHOST_USER_ADD_MEM_REG = 37,
  VHOST_USER_REM_MEM_REG = 38,
  VHOST_USER_SET_STATUS = 39,
  VHOST_USER_GET_STATUS = 40,
  VHOST_USER_GET_SHARED_OBJECT = 41,
};

enum BackendRequest : uint32_t {
  VHOST_USER_BACKEND_IOTLB_MSG = 1,
  VHOST_USER_BACKEND_CONFIG_CHANGE_MSG = 2,
  VHOST_USER_BACKEND_SHARED_OBJECT_ADD = 6,
  VHOST_USER_BACKEND_SHARED_OBJECT_REMOVE = 7,
  VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP = 8,
};

inline constexpr uint32_t VHOST_USER_VERSION = 0x1;
inline constexpr uint32_t VHOST_USER_VERSION_MASK = 0x3;
inline constexpr uint32_t VHOST_USER_REPLY_MASK = 0x1 << 2;
inline constexpr uint32_t VHOST_USER_NEED_REPLY_MASK = 0x1 << 3;

inline constexpr uint64_t VHOST_USER_VRING_IDX_MASK = 0xff;
inline constexpr uint64_t VHOST_USER_VRING_NOFD_MASK = 0x1 << 8;

// Virtio transport feature bits.
inline constexpr uint32_t VIRTIO_RING_F_INDIRECT_DESC = 28;
inline constexpr uint32_t VIRTIO_RING_F_EVENT_IDX = 29;
inline constexpr uint32_t VHOST_USER_F_PROTOCOL_FEATURES = 30;
inline constexpr uint32_t VIRTIO_F_VERSION_1 = 32;

// Protocol feature bits.
inline constexpr uint32_t VHOST_USER_PROTOCOL_F_MQ = 0;
inline constexpr uint32_t VHOST_USER_PROTOCOL_F_LOG_SHMFD = 1;
inline constexpr uint32_t VHOST_USER_PROTOCOL_F_REPLY_ACK = 3;
inline constexpr uint32_t VHOST_USER_PROTOCOL_F_BACKEND_REQ = 5;
inline constexpr uint32_t VHOST_USER_PROTOCOL_F_CONFIG = 9;
inline constexpr uint32_t VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD = 10;
inline constexpr uint32_t VHOST_USER_PROTOCOL_F_RESET_DEVICE = 13;
inline constexpr uint32_t VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15;
inline constexpr uint32_t VHOST_USER_PROTOCOL_F_STATUS = 16;
inline constexpr uint32_t VHOST_USER_PROTOCOL_F_SHARED_OBJECT = 18;

inline constexpr uint32_t kMaxMemoryRegions = 8;  // VHOST_MEMORY_BASELINE_NREGIONS
inline constexpr uint32_t kMaxFdsPerMessage = 8;
inline constexpr uint32_t kMaxConfigSize = 256;   // VHOST_USER_MAX_CONFIG_SIZE

#pragma pack(push, 1)
struct VhostUserHeader {
  uint32_t request;
  uint32_t flags;
  uint32_t size;
};

struct VhostUserVringState {
  uint32_t index;
  uint32_t num;
};

struct VhostUserVringAddr {
  uint32_t index;
  uint32_t flags;
  uint64_t desc_user_addr;
  uint64_t used_user_addr;
  uint64_t avail_user_addr;
  uint64_t log_guest_addr;
};

struct VhostUserMemoryRegion {
  uint64_t guest_phys_addr;
  uint64_t memory_size;
  uint64_t userspace_addr;
  uint64_t mmap_offset;
};

struct VhostUserMemory {
  uint32_t nregions;
  uint32_t padding;
  VhostUserMemoryRegion regions[kMaxMemoryRegions];
};

struct VhostUserSingleMemoryRegion {
  uint64_t padding;
  VhostUserMemoryRegion region;
};

struct VhostUserConfigHeader {
  uint32_t offset;
  uint32_t size;
  uint32_t flags;
};  // followed by size bytes

struct VhostUserShared {
  uint8_t uuid[16];
};
#pragma pack(pop)

static_assert(sizeof(VhostUserHeader) == 12);
static_assert(sizeof(VhostUserVringState) == 8);
static_assert(sizeof(VhostUserVringAddr) == 40);
static_assert(sizeof(VhostUserMemoryRegion) == 32);
static_assert(sizeof(VhostUserMemory) == 8 + 32 * 8);
static_assert(sizeof(VhostUserSingleMemoryRegion) == 40);
static_assert(sizeof(VhostUserConfigHeader) == 12);
static_assert(sizeof(VhostUserShared) == 16);

// Largest payload we accept (QEMU: sizeof(VhostUserPayload)); anything bigger is a protocol error.
inline constexpr uint32_t kMaxPayloadSize = 4096;

}  // namespace vdec::vhost
// NOLINTEND(readability-identifier-naming)
