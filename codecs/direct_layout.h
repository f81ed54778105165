// SPDX-License-Identifier: MIT
// What libavcodec needs of an output layout to decode straight into it (avcodec_align_dimensions2).
#pragma once

#include <cstdint>

#include "buffers/frame_layout.h"

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace vdec::codecs {

// For pictures of one coded size and pixel format.
struct DecoderAlignment {
  uint32_t codedWidth = 0;   // frame->width libavcodec allocates pictures with
  uint32_t codedHeight = 0;  // frame->height likewise
  int pixelFormat = -1;      // AVPixelFormat
  uint32_t lineAlign = 64;   // every plane's row stride and start (STRIDE_ALIGN)
  uint32_t alignedWidth = 0;   // luma pixels per row it may touch
  uint32_t alignedHeight = 0;  // luma rows it may touch (reads included)
  uint32_t heightAlign = 2;    // the power-of-two part of that alignment
  uint32_t extraRows = 0;      // alignedHeight - alignUp(codedHeight, heightAlign)
  bool operator==(const DecoderAlignment&) const = default;
};

// Asks avcodec_align_dimensions2 for `codec` (planar 4:2:0 assumed when pixelFormat is not).
DecoderAlignment decoderAlignment(AVCodecID codec, int pixelFormat, uint32_t codedWidth,
                                  uint32_t codedHeight);

// Luma stride alignment to announce: chroma planes of planar 4:2:0 have half the luma stride and
// need lineAlign too.
uint32_t layoutStrideAlign(const DecoderAlignment& alignment);

// Whether `layout` has the rows, strides and plane alignment libavcodec needs for pictures of
// `alignment` (NV12: only the luma plane is decoded into the resource).
bool layoutFitsDecoder(const buffers::FrameLayout& layout, const DecoderAlignment& alignment);

}  // namespace vdec::codecs
