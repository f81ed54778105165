// SPDX-License-Identifier: MIT
// Encoders for what the virtio-media device writes: commandq responses (into the chain's
// device-writable part) and eventq events (into a driver-posted event buffer).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "vdec/protocol/virtio_media.h"

namespace vdec::media {

// The config space: `card` is truncated to 32 bytes, NUL-terminated when shorter.
wire::virtio_media_config mediaConfig(uint32_t deviceCaps, uint32_t deviceType,
                                      std::string_view card);

// virtio_media_resp_header alone: CLOSE needs none, MUNMAP and failed commands use this. `status`
// is 0 or a positive errno.
std::vector<std::byte> mediaStatusResponse(uint32_t status);

std::vector<std::byte> mediaOpenResponse(uint32_t sessionId);

// virtio_media_resp_ioctl followed by `payload` (the device-writable payload of _IOR/_IOWR
// ioctls; may be written on failure too, as the spec allows).
std::vector<std::byte> mediaIoctlResponse(uint32_t status, std::span<const std::byte> payload);

std::vector<std::byte> mediaMmapResponse(uint64_t driverAddr, uint64_t length);

// Events. The session must be reported closed by ERROR before its id is reused.
std::vector<std::byte> mediaErrorEvent(uint32_t sessionId, uint32_t errnoValue);

// `planes` (at most VIRTIO_MEDIA_MAX_PLANES; extra entries are dropped) fill the fixed planes
// array, the rest is zero. The pointer field `m` is zeroed for SHARED_PAGES buffers, as the spec
// recommends (the driver restores its own value).
std::vector<std::byte> mediaDqbufEvent(uint32_t sessionId, const wire::v4l2_buffer& buffer,
                                       std::span<const wire::v4l2_plane> planes);

std::vector<std::byte> mediaEventEvent(uint32_t sessionId, const wire::v4l2_event& event);

}  // namespace vdec::media
