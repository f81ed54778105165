// SPDX-License-Identifier: MIT
// MediaCommand: a virtio-media commandq request (its device-readable bytes) parsed once into a
// typed value, as vdec/command.h does for virtio-video. Everything after parsing works on these
// copies, never on guest memory.
#pragma once

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "vdec/base/result.h"
#include "vdec/media/media_ioctl_payload.h"
#include "vdec/media/v4l2_ioctl_table.h"
#include "vdec/protocol/virtio_media.h"

namespace vdec::media {

struct OpenCmd {};
struct CloseCmd {
  uint32_t sessionId;
};
// kFixed ioctls: the payload bytes (exactly info->payloadSize; empty for kRead ioctls, whose
// device-readable payload, if the driver sent one, is ignored).
using FixedPayload = std::vector<std::byte>;
using IoctlPayload = std::variant<FixedPayload, MediaBufferPayload, MediaExtControls>;
struct IoctlCmd {
  uint32_t sessionId;
  const V4l2IoctlInfo* ioctl;  // never null: unsupported codes fail to parse with ENOTTY
  IoctlPayload payload;
};
struct MmapCmd {
  uint32_t sessionId;
  bool writable;  // VIRTIO_MEDIA_MMAP_FLAG_RW
  uint32_t offset;
};
struct MunmapCmd {
  uint64_t driverAddr;
};

using MediaCommandBody = std::variant<OpenCmd, CloseCmd, IoctlCmd, MmapCmd, MunmapCmd>;

struct MediaCommand {
  uint32_t type = 0;  // VIRTIO_MEDIA_CMD_*
  MediaCommandBody body;
};

using MediaCommandLimits = MediaPayloadLimits;

// Parses a request (a copy the caller owns). Errors: kUnsupported for an unknown command type or
// an ioctl code the device does not implement (answered ENOTTY), kInvalidParameter for everything
// else: a request shorter than a header, a wrong size (the driver sends exact sizes; trailing
// bytes are refused), a field out of range (answered EINVAL; see mediaStatusFor()). The header,
// when readable, is returned through `header` even when the parse fails.
Result<MediaCommand> parseMediaCommand(std::span<const std::byte> request,
                                       const MediaCommandLimits& limits,
                                       wire::virtio_media_cmd_header* header = nullptr);

// Bytes of ioctl payload the device writes after virtio_media_resp_ioctl on success: 0 for _IOW
// ioctls; the struct for fixed ones; v4l2_buffer + planes + UUIDs (VIRTIO_OBJECT UUIDs are in
// both parts, SHARED_PAGES SG lists only in the readable one); v4l2_ext_controls + controls. A
// chain whose writable part is smaller cannot be answered with success.
size_t ioctlResponsePayloadSize(const IoctlCmd& ioctl);

// The Linux errno a failed parse is answered with in virtio_media_resp_header.status.
uint32_t mediaStatusFor(const Error& error);

const char* mediaCommandName(uint32_t type);

}  // namespace vdec::media
