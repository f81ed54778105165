// SPDX-License-Identifier: MIT
// DecodeCapabilities: a parsed QUERY_CAPABILITY response (format descs, frame size ranges,
// compatibility masks), for the harness's `query` command.
#include "samples/harness/decode_capabilities.h"

#include <cstring>

#include <fmt/format.h>

namespace vdec::harness {

namespace {

// Reads a T at `offset`, advancing it; fails past the end of `bytes`.
template <typename T>
Result<T> readAt(std::span<const std::byte> bytes, size_t& offset, const char* what) {
  if (offset > bytes.size() || sizeof(T) > bytes.size() - offset)
    return makeError(ErrorCode::kInvalidParameter, "capability response ends inside {} at {}", what,
                     offset);
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  offset += sizeof(T);
  return value;
}

std::string rangeText(const wire::virtio_video_format_range& range) {
  if (range.min == range.max) return fmt::format("{}", range.min);
  return fmt::format("{}..{} step {}", range.min, range.max, range.step);
}

}  // namespace

std::string virtioFormatName(uint32_t format) {
  switch (format) {
    case wire::VIRTIO_VIDEO_FORMAT_ARGB8888:
      return "ARGB8888";
    case wire::VIRTIO_VIDEO_FORMAT_BGRA8888:
      return "BGRA8888";
    case wire::VIRTIO_VIDEO_FORMAT_NV12:
      return "NV12";
    case wire::VIRTIO_VIDEO_FORMAT_YUV420:
      return "YUV420";
    case wire::VIRTIO_VIDEO_FORMAT_YVU420:
      return "YVU420";
    case wire::VIRTIO_VIDEO_FORMAT_MPEG2:
      return "MPEG2";
    case wire::VIRTIO_VIDEO_FORMAT_MPEG4:
      return "MPEG4";
    case wire::VIRTIO_VIDEO_FORMAT_H264:
      return "H264";
    case wire::VIRTIO_VIDEO_FORMAT_HEVC:
      return "HEVC";
    case wire::VIRTIO_VIDEO_FORMAT_VP8:
      return "VP8";
    case wire::VIRTIO_VIDEO_FORMAT_VP9:
      return "VP9";
    default:
      return fmt::format("{:#x}", format);
  }
}

Result<DecodeCapabilities> DecodeCapabilities::parse(std::span<const std::byte> response) {
  size_t offset = 0;
  VDEC_ASSIGN_OR_RETURN(
      auto header, readAt<wire::virtio_video_query_capability_resp>(response, offset, "header"));
  if (header.hdr.type != wire::VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY)
    return makeError(ErrorCode::kInvalidOperation, "QUERY_CAPABILITY answered {:#x}",
                     header.hdr.type);
  DecodeCapabilities caps;
  for (uint32_t d = 0; d < header.num_descs; ++d) {
    CapabilityFormat format;
    VDEC_ASSIGN_OR_RETURN(format.desc,
                          readAt<wire::virtio_video_format_desc>(response, offset, "format desc"));
    for (uint32_t f = 0; f < format.desc.num_frames; ++f) {
      VDEC_ASSIGN_OR_RETURN(auto frame,
                            readAt<wire::virtio_video_format_frame>(response, offset, "frame"));
      CapabilityFrame parsed{frame.width, frame.height, {}};
      for (uint32_t r = 0; r < frame.num_rates; ++r) {
        VDEC_ASSIGN_OR_RETURN(auto rate,
                              readAt<wire::virtio_video_format_range>(response, offset, "rate"));
        parsed.rates.push_back(rate);
      }
      format.frames.push_back(std::move(parsed));
    }
    caps.formats_.push_back(std::move(format));
  }
  return caps;
}

std::string DecodeCapabilities::describe(const DecodeCapabilities& other) const {
  std::string out;
  for (const CapabilityFormat& format : formats_) {
    const auto& desc = format.desc;
    std::string compatible;
    for (size_t bit = 0; bit < 64; ++bit) {
      if (!(desc.mask & (uint64_t{1} << bit))) continue;
      if (!compatible.empty()) compatible += ' ';
      compatible += bit < other.formats_.size() ? virtioFormatName(other.formats_[bit].desc.format)
                                                : fmt::format("#{}?", bit);
    }
    out += fmt::format("  {:<8} mask {:#x} [{}] planes_layout {:#x} plane_align {}\n",
                       virtioFormatName(desc.format), desc.mask, compatible, desc.planes_layout,
                       desc.plane_align);
    for (const CapabilityFrame& frame : format.frames) {
      out += fmt::format("           width {} height {}", rangeText(frame.width),
                         rangeText(frame.height));
      for (const auto& rate : frame.rates) out += fmt::format(" rate {}", rangeText(rate));
      out += '\n';
    }
  }
  return out;
}

}  // namespace vdec::harness
