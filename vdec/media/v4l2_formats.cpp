// SPDX-License-Identifier: MIT
#include "vdec/media/v4l2_formats.h"

#include <array>
#include <cstring>

namespace vdec::media {
namespace {

struct CodedEntry {
  codecs::CodedFormat format;
  uint32_t fourcc;
  const char* description;
};

constexpr std::array kCoded = {
    CodedEntry{codecs::CodedFormat::kH264, V4L2_PIX_FMT_H264, "H.264"},
    CodedEntry{codecs::CodedFormat::kHevc, V4L2_PIX_FMT_HEVC, "HEVC"},
    CodedEntry{codecs::CodedFormat::kVp8, V4L2_PIX_FMT_VP8, "VP8"},
    CodedEntry{codecs::CodedFormat::kVp9, V4L2_PIX_FMT_VP9, "VP9"},
    // One OUTPUT buffer holds one temporal unit (low-overhead OBU format, AV1 spec 5.2).
    CodedEntry{codecs::CodedFormat::kAv1, kPixFmtAv1, "AV1"},
};

struct RawEntry {
  buffers::PixelFormat format;
  uint32_t fourcc;
  const char* description;
};

constexpr std::array kRaw = {
    RawEntry{buffers::PixelFormat::kNv12, V4L2_PIX_FMT_NV12, "Y/UV 4:2:0"},
    RawEntry{buffers::PixelFormat::kI420, V4L2_PIX_FMT_YUV420, "Planar YUV 4:2:0"},
    RawEntry{buffers::PixelFormat::kYv12, V4L2_PIX_FMT_YVU420, "Planar YVU 4:2:0"},
};

constexpr uint64_t kNsPerSec = 1'000'000'000;

}  // namespace

std::optional<codecs::CodedFormat> codedFormatFromFourcc(uint32_t fourcc) {
  for (const auto& entry : kCoded) {
    if (entry.fourcc == fourcc) return entry.format;
  }
  return std::nullopt;
}

uint32_t fourccFromCodedFormat(codecs::CodedFormat format) {
  for (const auto& entry : kCoded) {
    if (entry.format == format) return entry.fourcc;
  }
  return 0;
}

std::optional<buffers::PixelFormat> pixelFormatFromFourcc(uint32_t fourcc) {
  for (const auto& entry : kRaw) {
    if (entry.fourcc == fourcc) return entry.format;
  }
  return std::nullopt;
}

uint32_t fourccFromPixelFormat(buffers::PixelFormat format) {
  for (const auto& entry : kRaw) {
    if (entry.format == format) return entry.fourcc;
  }
  return 0;
}

const char* fourccDescription(uint32_t fourcc) {
  for (const auto& entry : kCoded) {
    if (entry.fourcc == fourcc) return entry.description;
  }
  for (const auto& entry : kRaw) {
    if (entry.fourcc == fourcc) return entry.description;
  }
  return "";
}

void fillCodedFormat(v4l2_format& format, const CodedQueueFormat& coded) {
  const uint32_t type = format.type;
  std::memset(&format, 0, sizeof(format));
  format.type = type;
  if (type == V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE) {
    auto& pix = format.fmt.pix_mp;
    pix.width = coded.width;
    pix.height = coded.height;
    pix.pixelformat = coded.fourcc;
    pix.field = V4L2_FIELD_NONE;
    pix.num_planes = 1;
    pix.plane_fmt[0].sizeimage = coded.sizeImage;
  } else {
    auto& pix = format.fmt.pix;
    pix.width = coded.width;
    pix.height = coded.height;
    pix.pixelformat = coded.fourcc;
    pix.field = V4L2_FIELD_NONE;
    pix.sizeimage = coded.sizeImage;
  }
}

void fillRawFormat(v4l2_format& format, const buffers::FrameLayout& layout) {
  const uint32_t type = format.type;
  std::memset(&format, 0, sizeof(format));
  format.type = type;
  const auto size = static_cast<uint32_t>(layout.totalSize());
  if (type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE) {
    auto& pix = format.fmt.pix_mp;
    pix.width = layout.width;
    pix.height = layout.height;
    pix.pixelformat = fourccFromPixelFormat(layout.format);
    pix.field = V4L2_FIELD_NONE;
    pix.colorspace = V4L2_COLORSPACE_REC709;
    pix.num_planes = 1;
    pix.plane_fmt[0].sizeimage = size;
    pix.plane_fmt[0].bytesperline = layout.planes[0].stride;
  } else {
    auto& pix = format.fmt.pix;
    pix.width = layout.width;
    pix.height = layout.height;
    pix.pixelformat = fourccFromPixelFormat(layout.format);
    pix.field = V4L2_FIELD_NONE;
    pix.colorspace = V4L2_COLORSPACE_REC709;
    pix.sizeimage = size;
    pix.bytesperline = layout.planes[0].stride;
  }
}

uint64_t timestampFromTimeval(int64_t sec, int64_t usec) {
  return static_cast<uint64_t>(sec) * kNsPerSec + static_cast<uint64_t>(usec) * 1000;
}

void timevalFromTimestamp(uint64_t timestamp, int64_t& sec, int64_t& usec) {
  sec = static_cast<int64_t>(timestamp / kNsPerSec);
  usec = static_cast<int64_t>((timestamp % kNsPerSec) / 1000);
}

}  // namespace vdec::media
