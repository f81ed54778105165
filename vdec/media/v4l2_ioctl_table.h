// SPDX-License-Identifier: MIT
// The V4L2 ioctls a virtio-media decoder session accepts, by ioctl code (_IOC_NR of VIDIOC_*):
// direction, payload size in the 64-bit layout, and how the payload is laid out on the wire.
// An ioctl missing from the table is answered ENOTTY, as the spec requires for unsupported ones
// (QUERYCAP, DQBUF and DQEVENT are replaced by the config space and the eventq; never listed).
#pragma once

#include <cstdint>
#include <span>

namespace vdec::media {

enum class IoctlDirection {
  kWrite,      // _IOW: payload device-readable only
  kRead,       // _IOR: payload device-writable only
  kReadWrite,  // _IOWR: payload in both parts of the chain
};

enum class IoctlPayloadKind {
  kFixed,        // exactly payloadSize bytes
  kBuffer,       // v4l2_buffer, then planes, SG entries or UUIDs (MediaBufferPayload)
  kExtControls,  // v4l2_ext_controls, then controls and their SG entries (MediaExtControls)
};

struct V4l2IoctlInfo {
  uint32_t code;
  const char* name;  // "VIDIOC_G_FMT"
  IoctlDirection direction;
  uint32_t payloadSize;  // the fixed struct (for kBuffer/kExtControls: the leading struct)
  IoctlPayloadKind kind;
};

// The entry for `code`, or nullptr when the device does not support it.
const V4l2IoctlInfo* findV4l2Ioctl(uint32_t code);

// Every supported ioctl, in code order.
std::span<const V4l2IoctlInfo> supportedV4l2Ioctls();

}  // namespace vdec::media
