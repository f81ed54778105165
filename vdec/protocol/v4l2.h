// SPDX-License-Identifier: MIT
// The V4L2 structs virtio-media carries, in their 64-bit little-endian layout (the only one on the
// wire, whatever the guest), written out with explicit padding so that they do not depend on the
// host's ABI. tests/vdec/v4l2_layout_test.cpp checks sizes and offsets against <linux/videodev2.h>.
// Constants live in vdec::v4l2 with kCamelCase names: the kernel header defines many V4L2_* names
// as macros, which a same-named constant would collide with.
#pragma once

#include <cstdint>

namespace vdec::v4l2 {

inline constexpr uint32_t kMaxPlanes = 8;  // VIDEO_MAX_PLANES

// enum v4l2_memory
inline constexpr uint32_t kMemoryMmap = 1;
inline constexpr uint32_t kMemoryUserptr = 2;
inline constexpr uint32_t kMemoryOverlay = 3;
inline constexpr uint32_t kMemoryDmabuf = 4;

// enum v4l2_buf_type (the ones a decoder uses, and the last valid value)
inline constexpr uint32_t kBufTypeVideoCapture = 1;
inline constexpr uint32_t kBufTypeVideoOutput = 2;
inline constexpr uint32_t kBufTypeVideoCaptureMplane = 9;
inline constexpr uint32_t kBufTypeVideoOutputMplane = 10;
inline constexpr uint32_t kBufTypeLast = 14;  // V4L2_BUF_TYPE_META_OUTPUT

inline constexpr bool isMultiplanar(uint32_t type) {
  return type == kBufTypeVideoCaptureMplane || type == kBufTypeVideoOutputMplane;
}

// V4L2_CTRL_MAX_DIMS-independent limit on v4l2_ext_controls.count (V4L2_CID_MAX_CTRLS).
inline constexpr uint32_t kMaxExtControls = 1024;

}  // namespace vdec::v4l2

// NOLINTBEGIN(readability-identifier-naming)
namespace vdec::wire {

struct v4l2_timecode {
  uint32_t type;
  uint32_t flags;
  uint8_t frames;
  uint8_t seconds;
  uint8_t minutes;
  uint8_t hours;
  uint8_t userbits[4];
};

struct v4l2_plane {
  uint32_t bytesused;
  uint32_t length;
  uint64_t m;  // union { u32 mem_offset; unsigned long userptr; s32 fd; }
  uint32_t data_offset;
  uint32_t reserved[11];
};

struct v4l2_buffer {
  uint32_t index;
  uint32_t type;
  uint32_t bytesused;
  uint32_t flags;
  uint32_t field;
  uint32_t padding0;
  int64_t timestamp_sec;  // struct timeval
  int64_t timestamp_usec;
  v4l2_timecode timecode;
  uint32_t sequence;
  uint32_t memory;
  uint64_t m;       // union { u32 offset; unsigned long userptr; v4l2_plane* planes; s32 fd; }
  uint32_t length;  // bytes (single-planar) or number of planes (multi-planar)
  uint32_t reserved2;
  uint32_t request_fd;  // union { s32 request_fd; u32 reserved; }
  uint32_t padding1;
};

struct v4l2_event {
  uint32_t type;
  uint32_t padding0;
  uint8_t u[64];  // union: v4l2_event_src_change, v4l2_event_ctrl, ...
  uint32_t pending;
  uint32_t sequence;
  int64_t timestamp_sec;  // struct timespec
  int64_t timestamp_nsec;
  uint32_t id;
  uint32_t reserved[8];
  uint32_t padding1;
};

struct v4l2_ext_controls {
  uint32_t which;  // union { ctrl_class; which; }
  uint32_t count;
  uint32_t error_idx;
  int32_t request_fd;
  uint32_t reserved[1];
  uint32_t padding0;
  uint64_t controls;  // pointer, ignored: the controls follow the struct
};

struct [[gnu::packed]] v4l2_ext_control {
  uint32_t id;
  uint32_t size;  // > 0: a pointer control, its memory follows as virtio_media_sg_entry list
  uint32_t reserved2[1];
  uint64_t value;  // union { s32 value; s64 value64; char* string; ...; void* ptr; }
};

static_assert(sizeof(v4l2_timecode) == 16);
static_assert(sizeof(v4l2_plane) == 64);
static_assert(sizeof(v4l2_buffer) == 88);
static_assert(sizeof(v4l2_event) == 136);
static_assert(sizeof(v4l2_ext_controls) == 32);
static_assert(sizeof(v4l2_ext_control) == 20);

}  // namespace vdec::wire
// NOLINTEND(readability-identifier-naming)
