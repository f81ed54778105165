// SPDX-License-Identifier: MIT
// Encoders for the virtio-media requests the guest driver sends (virtio_media_ioctls.c): the
// chain of an IOCTL command split into descriptors exactly as the driver splits it. The device's
// own parser (vdec/media/media_command.h) must accept every chain built here.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "buffers/guest_pages.h"
#include "samples/harness/media_driver.h"
#include "vdec/protocol/virtio_media.h"

namespace vdec::harness {

using MediaUuid = std::array<uint8_t, 16>;

// A v4l2_buffer ioctl (QBUF, QUERYBUF, PREPARE_BUF) as user space fills it, plus the memory
// behind its pointers.
struct MediaBufferRequest {
  wire::v4l2_buffer buffer{};
  std::vector<wire::v4l2_plane> planes;  // multi-planar: buffer.length of them
  // SHARED_PAGES: per plane (single-planar: one list) the guest-physical pages, in order; their
  // total must cover the plane's length.
  std::vector<std::vector<buffers::GuestRange>> sharedPages;
  std::vector<MediaUuid> objects;  // VIRTIO_OBJECT: one per plane (single-planar: one)
};

// _IOW ioctls: readable [cmd][payload], writable [resp].
// _IOWR and _IOR ioctls: readable [cmd][payload], writable [resp][payload] (the driver sends the
// payload both ways, also for _IOR ones).
// `writesBack` says whether the ioctl has a device-writable payload.
MediaChain fixedIoctlChain(uint32_t sessionId, uint32_t code, std::span<const std::byte> payload,
                           bool writesBack);

// Readable [cmd][v4l2_buffer][planes][SG entries or UUIDs], writable
// [resp][v4l2_buffer][planes][UUIDs]. Planes whose length is 0 carry no SG entries; an SG list
// is cut to the plane's length as the driver's pinned pages cover exactly that length.
MediaChain bufferIoctlChain(uint32_t sessionId, uint32_t code, const MediaBufferRequest& request);

// The SG entries standing for `length` bytes of `pages` (the last one clipped).
std::vector<wire::virtio_media_sg_entry> sgEntries(std::span<const buffers::GuestRange> pages,
                                                   uint64_t length);

// What a response holds: the status, and the payload after virtio_media_resp_ioctl.
struct MediaIoctlReply {
  uint32_t status = 0;
  std::vector<std::byte> payload;
};
// Fails (kBackendFailure) on a response shorter than its header, as the driver does (-EINVAL).
Result<MediaIoctlReply> parseIoctlReply(const MediaResponse& response);

}  // namespace vdec::harness
