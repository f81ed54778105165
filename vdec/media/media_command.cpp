// SPDX-License-Identifier: MIT
#include "vdec/media/media_command.h"

#include <cerrno>

#include "vdec/base/wire.h"

namespace vdec::media {
namespace w = wire;
namespace {

using Bytes = std::span<const std::byte>;

Status expectSize(Bytes request, size_t size, uint32_t type) {
  if (request.size() != size) {
    return makeError(ErrorCode::kInvalidParameter, "{}: {} bytes, expected {}",
                     mediaCommandName(type), request.size(), size);
  }
  return okStatus();
}

Result<IoctlPayload> parseIoctlPayload(const V4l2IoctlInfo& info, Bytes payload,
                                       const MediaCommandLimits& limits) {
  switch (info.kind) {
    case IoctlPayloadKind::kBuffer: {
      VDEC_ASSIGN_OR_RETURN(auto buffer, parseBufferPayload(payload, limits));
      return IoctlPayload{std::move(buffer)};
    }
    case IoctlPayloadKind::kExtControls: {
      VDEC_ASSIGN_OR_RETURN(auto controls, parseExtControlsPayload(payload, limits));
      return IoctlPayload{std::move(controls)};
    }
    case IoctlPayloadKind::kFixed:
      break;
  }
  if (info.direction == IoctlDirection::kRead) return IoctlPayload{FixedPayload{}};
  if (payload.size() != info.payloadSize) {
    return makeError(ErrorCode::kInvalidParameter, "{}: {} payload bytes, expected {}", info.name,
                     payload.size(), info.payloadSize);
  }
  return IoctlPayload{FixedPayload(payload.begin(), payload.end())};
}

Result<MediaCommandBody> parseIoctl(Bytes request, const MediaCommandLimits& limits) {
  VDEC_ASSIGN_OR_RETURN(auto cmd, readWire<w::virtio_media_cmd_ioctl>(request));
  const V4l2IoctlInfo* info = findV4l2Ioctl(cmd.code);
  if (info == nullptr) {
    return makeError(ErrorCode::kUnsupported, "ioctl code {} not supported", cmd.code);
  }
  VDEC_ASSIGN_OR_RETURN(auto payload,
                        parseIoctlPayload(*info, request.subspan(sizeof(cmd)), limits));
  return IoctlCmd{cmd.session_id, info, std::move(payload)};
}

Result<MediaCommandBody> parseMmap(Bytes request) {
  VDEC_TRY(expectSize(request, sizeof(w::virtio_media_cmd_mmap), w::VIRTIO_MEDIA_CMD_MMAP));
  VDEC_ASSIGN_OR_RETURN(auto cmd, readWire<w::virtio_media_cmd_mmap>(request));
  if ((cmd.flags & ~w::VIRTIO_MEDIA_MMAP_FLAG_RW) != 0) {
    return makeError(ErrorCode::kInvalidParameter, "MMAP flags {:#x} unknown", cmd.flags);
  }
  return MmapCmd{cmd.session_id, (cmd.flags & w::VIRTIO_MEDIA_MMAP_FLAG_RW) != 0, cmd.offset};
}

}  // namespace

Result<MediaCommand> parseMediaCommand(std::span<const std::byte> request,
                                       const MediaCommandLimits& limits,
                                       w::virtio_media_cmd_header* header) {
  VDEC_ASSIGN_OR_RETURN(auto hdr, readWire<w::virtio_media_cmd_header>(request));
  if (header != nullptr) *header = hdr;
  MediaCommand command{hdr.cmd, OpenCmd{}};
  switch (hdr.cmd) {
    case w::VIRTIO_MEDIA_CMD_OPEN:
      VDEC_TRY(expectSize(request, sizeof(w::virtio_media_cmd_open), hdr.cmd));
      break;
    case w::VIRTIO_MEDIA_CMD_CLOSE: {
      VDEC_TRY(expectSize(request, sizeof(w::virtio_media_cmd_close), hdr.cmd));
      VDEC_ASSIGN_OR_RETURN(auto cmd, readWire<w::virtio_media_cmd_close>(request));
      command.body = CloseCmd{cmd.session_id};
      break;
    }
    case w::VIRTIO_MEDIA_CMD_IOCTL: {
      VDEC_ASSIGN_OR_RETURN(command.body, parseIoctl(request, limits));
      break;
    }
    case w::VIRTIO_MEDIA_CMD_MMAP: {
      VDEC_ASSIGN_OR_RETURN(command.body, parseMmap(request));
      break;
    }
    case w::VIRTIO_MEDIA_CMD_MUNMAP: {
      VDEC_TRY(expectSize(request, sizeof(w::virtio_media_cmd_munmap), hdr.cmd));
      VDEC_ASSIGN_OR_RETURN(auto cmd, readWire<w::virtio_media_cmd_munmap>(request));
      command.body = MunmapCmd{cmd.driver_addr};
      break;
    }
    default:
      // ENOTTY, as the reference device (chromeos/virtio-media device/src/lib.rs) answers it.
      return makeError(ErrorCode::kUnsupported, "unknown command type {}", hdr.cmd);
  }
  return command;
}

size_t ioctlResponsePayloadSize(const IoctlCmd& ioctl) {
  if (ioctl.ioctl->direction == IoctlDirection::kWrite) return 0;
  if (const auto* buffer = std::get_if<MediaBufferPayload>(&ioctl.payload)) {
    return sizeof(w::v4l2_buffer) + buffer->planes.size() * sizeof(w::v4l2_plane) +
           buffer->objects.size() * sizeof(buffers::Uuid);
  }
  if (const auto* controls = std::get_if<MediaExtControls>(&ioctl.payload)) {
    return sizeof(w::v4l2_ext_controls) + controls->controls.size() * sizeof(w::v4l2_ext_control);
  }
  return ioctl.ioctl->payloadSize;
}

uint32_t mediaStatusFor(const Error& error) {
  switch (error.code) {
    case ErrorCode::kUnsupported: return ENOTTY;
    case ErrorCode::kOutOfMemory: return ENOMEM;
    case ErrorCode::kBackendFailure: return EIO;
    case ErrorCode::kInvalidOperation:
    case ErrorCode::kInvalidStreamId:
    case ErrorCode::kInvalidResourceId:
    case ErrorCode::kInvalidParameter: return EINVAL;
  }
  return EINVAL;
}

const char* mediaCommandName(uint32_t type) {
  switch (type) {
    case w::VIRTIO_MEDIA_CMD_OPEN: return "OPEN";
    case w::VIRTIO_MEDIA_CMD_CLOSE: return "CLOSE";
    case w::VIRTIO_MEDIA_CMD_IOCTL: return "IOCTL";
    case w::VIRTIO_MEDIA_CMD_MMAP: return "MMAP";
    case w::VIRTIO_MEDIA_CMD_MUNMAP: return "MUNMAP";
    default: return "UNKNOWN";
  }
}

}  // namespace vdec::media
