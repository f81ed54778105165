// SPDX-License-Identifier: MIT
// Builders for virtio-media requests in tests: byte concatenation of wire structs.
#pragma once

#include <cstring>
#include <span>
#include <vector>

#include "vdec/protocol/virtio_media.h"

namespace vdec::media::testing {

class RequestBuilder {
 public:
  template <typename T>
  RequestBuilder& add(const T& value) {
    const size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    std::memcpy(bytes_.data() + at, &value, sizeof(T));
    return *this;
  }
  RequestBuilder& zeros(size_t count) {
    bytes_.resize(bytes_.size() + count);
    return *this;
  }
  RequestBuilder& drop(size_t count) {
    bytes_.resize(bytes_.size() - count);
    return *this;
  }
  std::vector<std::byte> bytes() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

inline RequestBuilder ioctlRequest(uint32_t code, uint32_t session = 3) {
  RequestBuilder builder;
  builder.add(wire::virtio_media_cmd_ioctl{{wire::VIRTIO_MEDIA_CMD_IOCTL, 0}, session, code});
  return builder;
}

inline wire::virtio_media_sg_entry sgEntry(uint64_t start, uint32_t len) {
  return {start, len, 0};
}

}  // namespace vdec::media::testing
