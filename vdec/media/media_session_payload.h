// SPDX-License-Identifier: MIT
// Conversions between ioctl payload bytes and the V4L2 structs a MediaSession works on.
#pragma once

#include <linux/videodev2.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "buffers/object_resolver.h"
#include "vdec/protocol/v4l2.h"

namespace vdec::media {

// The parser gives fixed payloads of exactly the ioctl's size, which equals sizeof(T) for every
// struct used (asserted in media_session_formats.cpp); a shorter one is zero-extended.
template <typename T>
T fromPayload(std::span<const std::byte> payload) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value{};
  std::memcpy(&value, payload.data(), std::min(payload.size(), sizeof(T)));
  return value;
}

template <typename T>
std::vector<std::byte> toPayload(const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  std::vector<std::byte> bytes(sizeof(T));
  std::memcpy(bytes.data(), &value, sizeof(T));
  return bytes;
}

// The writable payload of a buffer ioctl: v4l2_buffer, its planes, then the VIRTIO_OBJECT UUIDs
// (ioctlResponsePayloadSize()'s layout).
inline std::vector<std::byte> bufferPayload(const wire::v4l2_buffer& buffer,
                                            const std::vector<wire::v4l2_plane>& planes,
                                            const std::vector<buffers::Uuid>& objects) {
  std::vector<std::byte> bytes = toPayload(buffer);
  for (const auto& plane : planes) {
    auto more = toPayload(plane);
    bytes.insert(bytes.end(), more.begin(), more.end());
  }
  for (const auto& uuid : objects) {
    auto more = toPayload(uuid);
    bytes.insert(bytes.end(), more.begin(), more.end());
  }
  return bytes;
}

}  // namespace vdec::media
