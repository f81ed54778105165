// SPDX-License-Identifier: MIT
// virtio-media (VIRTIO 1.4, device id 48) wire structs: config space, commandq commands and
// responses, eventq events. All fields are little-endian; sizes are asserted below and the layout
// is described, with sources, in docs/virtio-media.md.
#pragma once

#include <bit>
#include <cstdint>

#include "vdec/protocol/v4l2.h"

static_assert(std::endian::native == std::endian::little, "virtio is little-endian");

// NOLINTBEGIN(readability-identifier-naming)
namespace vdec::wire {

inline constexpr uint32_t VIRTIO_ID_MEDIA = 48;
inline constexpr uint32_t VIRTIO_MEDIA_COMMANDQ = 0;
inline constexpr uint32_t VIRTIO_MEDIA_EVENTQ = 1;
// Shared memory region id into which MMAP buffers are mapped (VIRTIO_MEDIA_CMD_MMAP).
inline constexpr uint8_t VIRTIO_MEDIA_SHM_MMAP = 0;
inline constexpr uint32_t VIRTIO_MEDIA_MAX_PLANES = 8;

enum : uint32_t {
  VIRTIO_MEDIA_CMD_OPEN = 1,
  VIRTIO_MEDIA_CMD_CLOSE = 2,
  VIRTIO_MEDIA_CMD_IOCTL = 3,
  VIRTIO_MEDIA_CMD_MMAP = 4,
  VIRTIO_MEDIA_CMD_MUNMAP = 5,
};

enum : uint32_t {
  VIRTIO_MEDIA_EVT_ERROR = 0,
  VIRTIO_MEDIA_EVT_DQBUF = 1,
  VIRTIO_MEDIA_EVT_EVENT = 2,
};

inline constexpr uint32_t VIRTIO_MEDIA_MMAP_FLAG_RW = 1u << 0;

// Memory types: the V4L2 values, renamed.
inline constexpr uint32_t VIRTIO_MEDIA_MMAP = v4l2::kMemoryMmap;
inline constexpr uint32_t VIRTIO_MEDIA_SHARED_PAGES = v4l2::kMemoryUserptr;
inline constexpr uint32_t VIRTIO_MEDIA_OBJECT = v4l2::kMemoryDmabuf;

struct virtio_media_config {
  uint32_t device_caps;  // V4L2_CAP_* as in v4l2_capability.device_caps
  uint32_t device_type;  // enum vfl_devnode_type (VFL_TYPE_VIDEO = 0)
  uint8_t card[32];      // NUL-terminated unless all 32 bytes are used
};

struct virtio_media_cmd_header {
  uint32_t cmd;
  uint32_t reserved;
};

struct virtio_media_resp_header {
  uint32_t status;  // 0 or a positive Linux errno
  uint32_t reserved;
};

struct virtio_media_cmd_open {
  virtio_media_cmd_header hdr;
};

struct virtio_media_resp_open {
  virtio_media_resp_header hdr;
  uint32_t session_id;
  uint32_t reserved;
};

// No response: the driver queues CLOSE without a device-writable descriptor.
struct virtio_media_cmd_close {
  virtio_media_cmd_header hdr;
  uint32_t session_id;
  uint32_t reserved;
};

// Followed (device-readable) by the ioctl payload for _IOW/_IOWR ioctls.
struct virtio_media_cmd_ioctl {
  virtio_media_cmd_header hdr;
  uint32_t session_id;
  uint32_t code;  // _IOC_NR() of the VIDIOC_* ioctl
};

// Followed (device-writable) by the ioctl payload for _IOR/_IOWR ioctls.
struct virtio_media_resp_ioctl {
  virtio_media_resp_header hdr;
};

struct virtio_media_cmd_mmap {
  virtio_media_cmd_header hdr;
  uint32_t session_id;
  uint32_t flags;   // VIRTIO_MEDIA_MMAP_FLAG_*
  uint32_t offset;  // v4l2_plane.m.mem_offset / v4l2_buffer.m.offset from QUERYBUF
};

struct virtio_media_resp_mmap {
  virtio_media_resp_header hdr;
  uint64_t driver_addr;  // offset into shared memory region VIRTIO_MEDIA_SHM_MMAP
  uint64_t len;          // the buffer's length
};

struct virtio_media_cmd_munmap {
  virtio_media_cmd_header hdr;
  uint64_t driver_addr;
};

struct virtio_media_resp_munmap {
  virtio_media_resp_header hdr;
};

// Stands for a userspace pointer (SHARED_PAGES buffers, pointer controls): as many entries as
// cover the pointed length, device-readable only.
struct virtio_media_sg_entry {
  uint64_t start;  // guest-physical address
  uint32_t len;
  uint32_t reserved;
};

struct virtio_media_event_header {
  uint32_t event;  // VIRTIO_MEDIA_EVT_*
  uint32_t session_id;
};

struct virtio_media_event_error {
  virtio_media_event_header hdr;
  uint32_t errno_value;  // "errno" in the spec
  uint32_t reserved;
};

struct virtio_media_event_dqbuf {
  virtio_media_event_header hdr;
  v4l2_buffer buffer;
  v4l2_plane planes[VIRTIO_MEDIA_MAX_PLANES];
};

struct virtio_media_event_event {
  virtio_media_event_header hdr;
  v4l2_event event;
};

static_assert(sizeof(virtio_media_config) == 40);
static_assert(sizeof(virtio_media_cmd_header) == 8);
static_assert(sizeof(virtio_media_resp_header) == 8);
static_assert(sizeof(virtio_media_cmd_open) == 8);
static_assert(sizeof(virtio_media_resp_open) == 16);
static_assert(sizeof(virtio_media_cmd_close) == 16);
static_assert(sizeof(virtio_media_cmd_ioctl) == 16);
static_assert(sizeof(virtio_media_resp_ioctl) == 8);
static_assert(sizeof(virtio_media_cmd_mmap) == 20);
static_assert(sizeof(virtio_media_resp_mmap) == 24);
static_assert(sizeof(virtio_media_cmd_munmap) == 16);
static_assert(sizeof(virtio_media_resp_munmap) == 8);
static_assert(sizeof(virtio_media_sg_entry) == 16);
static_assert(sizeof(virtio_media_event_header) == 8);
static_assert(sizeof(virtio_media_event_error) == 16);
static_assert(sizeof(virtio_media_event_dqbuf) == 8 + 88 + 8 * 64);
static_assert(sizeof(virtio_media_event_event) == 8 + 136);

}  // namespace vdec::wire
// NOLINTEND(readability-identifier-naming)
