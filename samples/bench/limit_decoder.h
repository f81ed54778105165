// SPDX-License-Identifier: MIT
// The limit: plain libavcodec decoding of a clip in this process, no device around it.
#pragma once

#include <cstdint>

#include "samples/harness/bitstream_reader.h"
#include "vdec/base/result.h"

namespace vdec::bench {

struct LimitRun {
  uint64_t frames = 0;
  double seconds = 0;  // from avcodec_open2() to the last frame
};

// Decodes the units of `input` the way the device's FfmpegSession does (parser for all but VP8,
// the same thread count and thread types, apply_cropping = 0), into libavcodec's own frames,
// which are dropped unread. Runs on the caller's thread plus libavcodec's threads.
Result<LimitRun> decodeLimit(const harness::BitstreamReader& input, int threads);

}  // namespace vdec::bench
