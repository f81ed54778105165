// SPDX-License-Identifier: MIT
// PNG snapshot of a decoded frame: libswscale to rgb24, then libavcodec's PNG encoder.
#pragma once

#include <string>

#include "samples/harness/frame_converter.h"
#include "vdec/base/result.h"

namespace vdec::harness {

// Writes `frame` (yuv420p or nv12, tightly packed) to `path` as an 8-bit RGB PNG at the
// frame's own size. Fails on an empty frame, a codec/scaler failure, or an I/O error.
Status writePng(const PackedFrame& frame, const std::string& path);

}  // namespace vdec::harness
