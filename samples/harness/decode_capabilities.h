// SPDX-License-Identifier: MIT
// DecodeCapabilities: a parsed QUERY_CAPABILITY response (format descs, frame size ranges,
// compatibility masks), for the harness's `query` command.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vdec/base/result.h"
#include "vdec/protocol/virtio_video.h"

namespace vdec::harness {

struct CapabilityFrame {
  wire::virtio_video_format_range width{};
  wire::virtio_video_format_range height{};
  std::vector<wire::virtio_video_format_range> rates;
};

struct CapabilityFormat {
  wire::virtio_video_format_desc desc{};
  std::vector<CapabilityFrame> frames;
};

class DecodeCapabilities {
 public:
  // Parses a whole response (header included); every count is checked against its size.
  static Result<DecodeCapabilities> parse(std::span<const std::byte> response);

  const std::vector<CapabilityFormat>& formats() const { return formats_; }
  // Human-readable listing; `other` is the opposite queue's list, to name the mask bits.
  std::string describe(const DecodeCapabilities& other) const;

 private:
  std::vector<CapabilityFormat> formats_;
};

std::string virtioFormatName(uint32_t format);  // "H264", "NV12", ... or the number

}  // namespace vdec::harness
