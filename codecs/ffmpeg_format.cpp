// SPDX-License-Identifier: MIT
#include "codecs/ffmpeg_format.h"

#include <algorithm>

extern "C" {
#include <libavutil/error.h>
#include <libavutil/pixdesc.h>
}

namespace vdec::codecs {

AVCodecID avCodecId(CodedFormat format) {
  switch (format) {
    case CodedFormat::kH264:
      return AV_CODEC_ID_H264;
    case CodedFormat::kHevc:
      return AV_CODEC_ID_HEVC;
    case CodedFormat::kVp8:
      return AV_CODEC_ID_VP8;
    case CodedFormat::kVp9:
      return AV_CODEC_ID_VP9;
    case CodedFormat::kAv1:
      return AV_CODEC_ID_AV1;
  }
  return AV_CODEC_ID_NONE;
}

const AVCodec* findSoftwareDecoder(AVCodecID codec) {
  if (codec == AV_CODEC_ID_AV1) return avcodec_find_decoder_by_name("libdav1d");
  return avcodec_find_decoder(codec);
}

std::string missingDecoderReason(AVCodecID codec) {
  if (codec == AV_CODEC_ID_AV1) {
    return "libavcodec has no libdav1d decoder (AV1 needs FFmpeg built with --enable-libdav1d; "
           "the native av1 decoder is hardware-only)";
  }
  const char* name = avcodec_get_name(codec);
  return std::string("libavcodec has no ") + (name != nullptr ? name : "such") + " decoder";
}

std::string avErrorString(int error) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(error, text, sizeof(text));
  return text;
}

Status checkOutputPixelFormat(int pixelFormat) {
  if (pixelFormat == AV_PIX_FMT_YUV420P || pixelFormat == AV_PIX_FMT_YUVJ420P) return okStatus();
  const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(pixelFormat));
  return makeError(ErrorCode::kUnsupported,
                   "unsupported pixel format {} (only 8-bit 4:2:0 is advertised)",
                   name != nullptr ? name : "unknown");
}

FrameGeometry frameGeometry(const AVFrame& frame) {
  FrameGeometry geometry;
  geometry.codedWidth = static_cast<uint32_t>(std::max(frame.width, 0));
  geometry.codedHeight = static_cast<uint32_t>(std::max(frame.height, 0));
  geometry.pixelFormat = frame.format;
  // libavcodec already resets inconsistent crop fields to zero; clamp anyway so that the
  // rectangle can never leave the coded picture.
  const uint64_t left = std::min<uint64_t>(frame.crop_left, geometry.codedWidth);
  const uint64_t right = std::min<uint64_t>(frame.crop_right, geometry.codedWidth - left);
  const uint64_t top = std::min<uint64_t>(frame.crop_top, geometry.codedHeight);
  const uint64_t bottom = std::min<uint64_t>(frame.crop_bottom, geometry.codedHeight - top);
  geometry.visible = buffers::Rect{static_cast<uint32_t>(left), static_cast<uint32_t>(top),
                                   static_cast<uint32_t>(geometry.codedWidth - left - right),
                                   static_cast<uint32_t>(geometry.codedHeight - top - bottom)};
  return geometry;
}

void followStreamReordering(AVCodecContext& context) {
  // libavcodec's H.264 decoder derives num_reorder_frames from the level's DPB size when the
  // VUI has no bitstream_restriction only in strict mode; otherwise it starts with no delay
  // and drops the pictures that come out of order. Other codecs: no effect on output.
  if (context.codec_id == AV_CODEC_ID_H264) context.strict_std_compliance = FF_COMPLIANCE_STRICT;
}

// The flags libavcodec 5.1 sets reliably: a missing reference, an invalid bitstream, a picture
// before a recovery point (AV_FRAME_FLAG_CORRUPT). FF_DECODE_ERROR_CONCEALMENT_ACTIVE and
// FF_DECODE_ERROR_DECODE_SLICES, which real damage sets, are lost with frame threads in some
// runs (copied before the decoding thread sets them) and reported set on intact field-coded
// pictures: the session judges those by the error log instead (DecodeErrorLog).
bool pictureDamaged(const AVFrame& frame) {
  constexpr int kTrusted = FF_DECODE_ERROR_INVALID_BITSTREAM | FF_DECODE_ERROR_MISSING_REFERENCE;
  return (frame.decode_error_flags & kTrusted) != 0 || (frame.flags & AV_FRAME_FLAG_CORRUPT) != 0;
}

}  // namespace vdec::codecs
