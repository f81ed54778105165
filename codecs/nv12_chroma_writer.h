// SPDX-License-Identifier: MIT
// The NV12 output of a direct-rendered picture: libavcodec decoded the luma into the guest's
// resource and the chroma into host planes (FramePool), which this interleaves into the UV plane.
#pragma once

#include <cstdint>

#include "buffers/frame_layout.h"
#include "buffers/resource_memory.h"
#include "vdec/base/result.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace vdec::codecs {

// Interleaves the planar chroma of `frame` into the NV12 resource's UV plane; returns the bytes
// written.
Result<uint64_t> writeNv12Chroma(buffers::ResourceMemory& memory,
                                 const buffers::FrameLayout& layout, const AVFrame& frame);

}  // namespace vdec::codecs
