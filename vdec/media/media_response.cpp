// SPDX-License-Identifier: MIT
#include "vdec/media/media_response.h"

#include <algorithm>
#include <cstring>

#include "vdec/base/wire.h"

namespace vdec::media {
namespace w = wire;

w::virtio_media_config mediaConfig(uint32_t deviceCaps, uint32_t deviceType,
                                   std::string_view card) {
  w::virtio_media_config config{};
  config.device_caps = deviceCaps;
  config.device_type = deviceType;
  std::memcpy(config.card, card.data(), std::min(card.size(), sizeof(config.card)));
  return config;
}

std::vector<std::byte> mediaStatusResponse(uint32_t status) {
  return toBytes(w::virtio_media_resp_header{status, 0});
}

std::vector<std::byte> mediaOpenResponse(uint32_t sessionId) {
  return toBytes(w::virtio_media_resp_open{{0, 0}, sessionId, 0});
}

std::vector<std::byte> mediaIoctlResponse(uint32_t status, std::span<const std::byte> payload) {
  std::vector<std::byte> out(sizeof(w::virtio_media_resp_ioctl) + payload.size());
  const w::virtio_media_resp_ioctl header{{status, 0}};
  std::memcpy(out.data(), &header, sizeof(header));
  if (!payload.empty()) std::memcpy(out.data() + sizeof(header), payload.data(), payload.size());
  return out;
}

std::vector<std::byte> mediaMmapResponse(uint64_t driverAddr, uint64_t length) {
  return toBytes(w::virtio_media_resp_mmap{{0, 0}, driverAddr, length});
}

std::vector<std::byte> mediaErrorEvent(uint32_t sessionId, uint32_t errnoValue) {
  return toBytes(w::virtio_media_event_error{{w::VIRTIO_MEDIA_EVT_ERROR, sessionId}, errnoValue, 0});
}

std::vector<std::byte> mediaDqbufEvent(uint32_t sessionId, const w::v4l2_buffer& buffer,
                                       std::span<const w::v4l2_plane> planes) {
  w::virtio_media_event_dqbuf event{};
  event.hdr = {w::VIRTIO_MEDIA_EVT_DQBUF, sessionId};
  event.buffer = buffer;
  const size_t count = std::min<size_t>(planes.size(), w::VIRTIO_MEDIA_MAX_PLANES);
  std::copy_n(planes.begin(), count, event.planes);
  if (buffer.memory == w::VIRTIO_MEDIA_SHARED_PAGES) {
    event.buffer.m = 0;
    for (auto& plane : event.planes) plane.m = 0;
  }
  return toBytes(event);
}

std::vector<std::byte> mediaEventEvent(uint32_t sessionId, const w::v4l2_event& event) {
  return toBytes(w::virtio_media_event_event{{w::VIRTIO_MEDIA_EVT_EVENT, sessionId}, event});
}

}  // namespace vdec::media
