// SPDX-License-Identifier: MIT
#include "vdec/media/media_ioctl_payload.h"

#include <algorithm>
#include <cstring>

#include "vdec/base/wire.h"
#include "vdec/protocol/virtio_media.h"

namespace vdec::media {
namespace {

using Bytes = std::span<const std::byte>;

// Reads T at `offset` and advances it.
template <typename T>
Result<T> take(Bytes bytes, size_t& offset) {
  VDEC_ASSIGN_OR_RETURN(T value, readWire<T>(bytes, offset));
  offset += sizeof(T);
  return value;
}

// Reads the SG entries that stand for a `length`-byte pointer, clipping the last to the length.
Result<std::vector<buffers::GuestRange>> takeSgList(Bytes bytes, size_t& offset, uint64_t length,
                                                    const MediaPayloadLimits& limits) {
  std::vector<buffers::GuestRange> ranges;
  uint64_t covered = 0;
  while (covered < length) {
    if (ranges.size() >= limits.maxSgEntriesPerPointer) {
      return makeError(ErrorCode::kInvalidParameter, "more than {} SG entries for {} bytes",
                       limits.maxSgEntriesPerPointer, length);
    }
    VDEC_ASSIGN_OR_RETURN(auto entry, take<wire::virtio_media_sg_entry>(bytes, offset));
    uint64_t end = 0;
    if (entry.len == 0 || addOverflows(entry.start, entry.len, &end)) {
      return makeError(ErrorCode::kInvalidParameter, "SG entry {:#x}+{} invalid", entry.start,
                       entry.len);
    }
    const uint64_t used = std::min<uint64_t>(entry.len, length - covered);
    ranges.push_back({buffers::GuestAddress{entry.start}, used});
    covered += used;
  }
  return ranges;
}

Status expectConsumed(Bytes bytes, size_t offset, const char* what) {
  if (offset != bytes.size()) {
    return makeError(ErrorCode::kInvalidParameter, "{}: {} bytes, layout needs {}", what,
                     bytes.size(), offset);
  }
  return okStatus();
}

}  // namespace

Result<MediaBufferPayload> parseBufferPayload(Bytes payload, const MediaPayloadLimits& limits) {
  MediaBufferPayload out;
  size_t offset = 0;
  VDEC_ASSIGN_OR_RETURN(out.buffer, take<wire::v4l2_buffer>(payload, offset));
  const auto& b = out.buffer;
  if (b.type == 0 || b.type > v4l2::kBufTypeLast) {
    return makeError(ErrorCode::kInvalidParameter, "buffer type {} out of range", b.type);
  }
  if (b.memory != v4l2::kMemoryMmap && b.memory != v4l2::kMemoryUserptr &&
      b.memory != v4l2::kMemoryDmabuf) {
    return makeError(ErrorCode::kInvalidParameter, "memory type {} out of range", b.memory);
  }
  const bool multiplanar = v4l2::isMultiplanar(b.type);
  if (multiplanar) {
    if (b.length > v4l2::kMaxPlanes) {
      return makeError(ErrorCode::kInvalidParameter, "{} planes (at most {})", b.length,
                       v4l2::kMaxPlanes);
    }
    out.planes.reserve(b.length);
    for (uint32_t p = 0; p < b.length; ++p) {
      VDEC_ASSIGN_OR_RETURN(auto plane, take<wire::v4l2_plane>(payload, offset));
      out.planes.push_back(plane);
    }
  }
  if (b.memory == v4l2::kMemoryUserptr) {
    if (multiplanar) {
      for (const auto& plane : out.planes) {
        VDEC_ASSIGN_OR_RETURN(auto ranges, takeSgList(payload, offset, plane.length, limits));
        out.sharedPages.push_back(std::move(ranges));
      }
    } else {
      VDEC_ASSIGN_OR_RETURN(auto ranges, takeSgList(payload, offset, b.length, limits));
      out.sharedPages.push_back(std::move(ranges));
    }
  } else if (b.memory == v4l2::kMemoryDmabuf) {
    const uint32_t count = multiplanar ? b.length : 1;
    for (uint32_t i = 0; i < count; ++i) {
      VDEC_ASSIGN_OR_RETURN(auto uuid, take<buffers::Uuid>(payload, offset));
      out.objects.push_back(uuid);
    }
  }
  VDEC_TRY(expectConsumed(payload, offset, "v4l2_buffer payload"));
  return out;
}

Result<MediaExtControls> parseExtControlsPayload(Bytes payload,
                                                 const MediaPayloadLimits& limits) {
  MediaExtControls out;
  size_t offset = 0;
  VDEC_ASSIGN_OR_RETURN(out.header, take<wire::v4l2_ext_controls>(payload, offset));
  if (out.header.count > v4l2::kMaxExtControls) {
    return makeError(ErrorCode::kInvalidParameter, "{} controls (at most {})", out.header.count,
                     v4l2::kMaxExtControls);
  }
  // Check the array fits before reserving for it: count comes from the guest.
  VDEC_TRY(checkedSubspan(payload, offset,
                          size_t{out.header.count} * sizeof(wire::v4l2_ext_control)));
  out.controls.reserve(out.header.count);
  for (uint32_t i = 0; i < out.header.count; ++i) {
    VDEC_ASSIGN_OR_RETURN(auto control, take<wire::v4l2_ext_control>(payload, offset));
    out.controls.push_back(control);
  }
  for (const auto& control : out.controls) {
    VDEC_ASSIGN_OR_RETURN(auto ranges, takeSgList(payload, offset, control.size, limits));
    out.controlPages.push_back(std::move(ranges));
  }
  VDEC_TRY(expectConsumed(payload, offset, "v4l2_ext_controls payload"));
  return out;
}

}  // namespace vdec::media
