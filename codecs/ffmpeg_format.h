// SPDX-License-Identifier: MIT
// Small libavcodec helpers shared by the backends and the decode pipeline: codec ids, the output
// pixel format check and the exact picture geometry of a decoded frame.
#pragma once

#include <cstdint>
#include <string>

#include "buffers/frame_layout.h"
#include "codecs/coded_format.h"
#include "vdec/base/result.h"

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace vdec::codecs {

AVCodecID avCodecId(CodedFormat format);

// The software decoder for `codec`, null when libavcodec has none. AV1 is libdav1d's, by name:
// FFmpeg 5.1's native av1 decoder only decodes through a hardware accelerator.
const AVCodec* findSoftwareDecoder(AVCodecID codec);
// Why findSoftwareDecoder() found nothing, for an error message.
std::string missingDecoderReason(AVCodecID codec);

// The text of a libav error code ("Invalid data found when processing input").
std::string avErrorString(int error);

// Succeeds for the formats we can write (8-bit 4:2:0 planar: yuv420p, yuvj420p); otherwise a
// kUnsupported error whose message names the format.
Status checkOutputPixelFormat(int pixelFormat);

// Geometry of a decoded frame as the guest must see it. Decoding runs with apply_cropping = 0,
// so the frame holds the whole coded picture and `visible` is its exact crop (libavcodec would
// round an odd left/top crop when cropping itself).
struct FrameGeometry {
  uint32_t codedWidth = 0;
  uint32_t codedHeight = 0;
  int pixelFormat = -1;  // AVPixelFormat
  buffers::Rect visible;
  bool operator==(const FrameGeometry&) const = default;
};

FrameGeometry frameGeometry(const AVFrame& frame);

// Makes an opened-to-be decoder output every picture of the stream in order: H.264 reorders as
// the SPS says (VUI num_reorder_frames, or the level's DPB size when the VUI has none) from the
// first picture on, instead of starting low-delay and dropping pictures that come out late
// ("Increasing reorder buffer"). Call before avcodec_open2.
void followStreamReordering(AVCodecContext& context);

// Whether libavcodec's flags say a decoded picture is damaged (missing references, decoded
// before a recovery point); only the flags that frame threads report reliably. The session adds
// the errors logged for the picture's packets (DecodeErrorLog).
bool pictureDamaged(const AVFrame& frame);

}  // namespace vdec::codecs
