// SPDX-License-Identifier: MIT
// The limit: plain libavcodec decoding of a clip in this process, no device around it.
#pragma once

#include <cstdint>
#include <vector>

#include "samples/harness/bitstream_reader.h"
#include "vdec/base/result.h"

namespace vdec::bench {

struct LimitRun {
  uint64_t frames = 0;
  double seconds = 0;            // from avcodec_alloc_context3() to the last frame
  double firstFrameSeconds = 0;  // from avcodec_alloc_context3() to the first frame
};

// Decodes the units of `input` the way the device's FfmpegSession does (parser for all but VP8,
// the same thread count and thread types, apply_cropping = 0), into libavcodec's own frames,
// which are dropped unread. Runs on the caller's thread plus libavcodec's threads.
Result<LimitRun> decodeLimit(const harness::BitstreamReader& input, int threads);

// The limit for several streams at once: one thread per input, each decodeLimit(inputs[i],
// threads[i]), all started together; `seconds` of the result is the wall time of them all.
Result<std::vector<LimitRun>> decodeLimitConcurrently(
    const std::vector<const harness::BitstreamReader*>& inputs, const std::vector<int>& threads,
    double& seconds);

}  // namespace vdec::bench
