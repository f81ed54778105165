// SPDX-License-Identifier: MIT
// The variable-length ioctl payloads of virtio-media, parsed from the device-readable bytes that
// follow virtio_media_cmd_ioctl:
//   v4l2_buffer (QUERYBUF, QBUF, PREPARE_BUF)
//     [multi-planar: v4l2_plane x buffer.length]
//     [SHARED_PAGES: per plane with length > 0 (single-planar: the buffer, if length > 0), as many
//      virtio_media_sg_entry as cover that length]
//     [VIRTIO_OBJECT: one 16-byte UUID per plane (single-planar: one)]
//   v4l2_ext_controls (G/S/TRY_EXT_CTRLS)
//     [v4l2_ext_control x count] [per control with size > 0: SG entries covering size]
// Nothing may follow the layout: trailing bytes are an error, like missing ones.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "buffers/guest_pages.h"
#include "buffers/object_resolver.h"
#include "vdec/base/result.h"
#include "vdec/protocol/v4l2.h"

namespace vdec::media {

struct MediaPayloadLimits {
  uint32_t maxSgEntriesPerPointer = 16384;  // 64 MiB of 4 KiB pages per plane
};

struct MediaBufferPayload {
  wire::v4l2_buffer buffer{};
  std::vector<wire::v4l2_plane> planes;  // multi-planar only: buffer.length planes
  // SHARED_PAGES only: one list per plane (single-planar: one), empty for a zero length. The
  // ranges cover exactly the plane's length: the last entry is clipped to it.
  std::vector<std::vector<buffers::GuestRange>> sharedPages;
  std::vector<buffers::Uuid> objects;  // VIRTIO_OBJECT only: one per plane (single-planar: one)
};

struct MediaExtControls {
  wire::v4l2_ext_controls header{};
  std::vector<wire::v4l2_ext_control> controls;  // header.count of them
  // One list per control, empty unless its size > 0 (a pointer control), clipped to the size.
  std::vector<std::vector<buffers::GuestRange>> controlPages;
};

// Errors are kInvalidParameter: short, oversized, a buffer type or memory type out of range,
// more than 8 planes, an SG entry of length 0 or whose range overflows, too many entries.
Result<MediaBufferPayload> parseBufferPayload(std::span<const std::byte> payload,
                                              const MediaPayloadLimits& limits);
Result<MediaExtControls> parseExtControlsPayload(std::span<const std::byte> payload,
                                                 const MediaPayloadLimits& limits);

}  // namespace vdec::media
