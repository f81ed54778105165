// SPDX-License-Identifier: MIT
// V4L2 formats of the virtio-media decoder: fourcc <-> codec / pixel format tables and the
// v4l2_format contents of the OUTPUT (bitstream) and CAPTURE (frames) queues.
// The fixed-size V4L2 structs of ioctl payloads are used from <linux/videodev2.h>: the daemon is
// built for 64-bit little-endian hosts only, whose layout is the wire's (sizes asserted in
// media_session.cpp against the ioctl table; tests/vdec/v4l2_layout_test.cpp checks the rest).
#pragma once

#include <linux/videodev2.h>

#include <cstdint>
#include <optional>

#include "buffers/frame_layout.h"
#include "codecs/coded_format.h"

namespace vdec::media {

// Not in Debian 12's <linux/videodev2.h>: the stateful AV1 fourcc used by ChromeOS.
inline constexpr uint32_t kPixFmtAv1 = v4l2_fourcc('A', 'V', '0', '1');

std::optional<codecs::CodedFormat> codedFormatFromFourcc(uint32_t fourcc);
uint32_t fourccFromCodedFormat(codecs::CodedFormat format);
std::optional<buffers::PixelFormat> pixelFormatFromFourcc(uint32_t fourcc);
uint32_t fourccFromPixelFormat(buffers::PixelFormat format);
const char* fourccDescription(uint32_t fourcc);

// Buffer types of the two queues: multi-planar ones and their single-planar twins.
inline bool isOutputType(uint32_t type) {
  return type == V4L2_BUF_TYPE_VIDEO_OUTPUT || type == V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
}
inline bool isCaptureType(uint32_t type) {
  return type == V4L2_BUF_TYPE_VIDEO_CAPTURE || type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
}

// What one queue's format says; the coded queue has one plane of `sizeImage` bytes, the raw one
// one memory plane holding every colour plane of `layout` back to back.
struct CodedQueueFormat {
  uint32_t fourcc = V4L2_PIX_FMT_H264;
  uint32_t width = 0;
  uint32_t height = 0;
  uint32_t sizeImage = 0;
};

// Fills `format` (its type kept) for the coded queue.
void fillCodedFormat(v4l2_format& format, const CodedQueueFormat& coded);
// Fills `format` (its type kept) for the raw queue in `layout`.
void fillRawFormat(v4l2_format& format, const buffers::FrameLayout& layout);

// The 64-bit timestamp handed to the decoder for a V4L2 timeval, and back: nanoseconds, so that
// every timeval with 0 <= usec < 10^6 and 0 <= sec < 2^33 round-trips exactly.
uint64_t timestampFromTimeval(int64_t sec, int64_t usec);
void timevalFromTimestamp(uint64_t timestamp, int64_t& sec, int64_t& usec);

}  // namespace vdec::media
