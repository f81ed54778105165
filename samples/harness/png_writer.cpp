// SPDX-License-Identifier: MIT
// PNG snapshot of a decoded frame: libswscale to rgb24, then libavcodec's PNG encoder.
#include "samples/harness/png_writer.h"

#include <cstdio>
#include <memory>

extern "C" {
#include <libswscale/swscale.h>

#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
}

namespace vdec::harness {

namespace {

struct FrameDeleter {
  void operator()(AVFrame* frame) const { av_frame_free(&frame); }
};
struct PacketDeleter {
  void operator()(AVPacket* packet) const { av_packet_free(&packet); }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* context) const { avcodec_free_context(&context); }
};
struct SwsDeleter {
  void operator()(SwsContext* context) const { sws_freeContext(context); }
};
struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

std::string averror(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof(text));
  return text;
}

}  // namespace

Status writePng(const PackedFrame& frame, const std::string& path) {
  if (frame.width == 0 || frame.height == 0 || frame.bytes.empty())
    return makeError(ErrorCode::kInvalidParameter, "no frame to write to {}", path);
  const int w = static_cast<int>(frame.width);
  const int h = static_cast<int>(frame.height);
  const int cw = (w + 1) / 2;
  const int ch = (h + 1) / 2;

  // Source planes point into the packed bytes (sws_scale only reads them).
  auto* base = reinterpret_cast<uint8_t*>(const_cast<std::byte*>(frame.bytes.data()));
  const uint8_t* srcData[4] = {base, base + size_t(w) * h, nullptr, nullptr};
  int srcStride[4] = {w, 0, 0, 0};
  AVPixelFormat srcFormat = AV_PIX_FMT_NV12;
  if (frame.format == DumpFormat::kYuv420p) {
    srcFormat = AV_PIX_FMT_YUV420P;
    srcData[2] = srcData[1] + size_t(cw) * ch;
    srcStride[1] = srcStride[2] = cw;
  } else {
    srcStride[1] = 2 * cw;
  }

  std::unique_ptr<AVFrame, FrameDeleter> rgb(av_frame_alloc());
  if (!rgb) return makeError(ErrorCode::kOutOfMemory, "av_frame_alloc failed");
  rgb->format = AV_PIX_FMT_RGB24;
  rgb->width = w;
  rgb->height = h;
  if (int ret = av_frame_get_buffer(rgb.get(), 0); ret < 0)
    return makeError(ErrorCode::kOutOfMemory, "av_frame_get_buffer: {}", averror(ret));

  std::unique_ptr<SwsContext, SwsDeleter> sws(
      sws_getContext(w, h, srcFormat, w, h, AV_PIX_FMT_RGB24, SWS_BILINEAR | SWS_ACCURATE_RND,
                     nullptr, nullptr, nullptr));
  if (!sws) return makeError(ErrorCode::kBackendFailure, "sws_getContext failed for {}x{}", w, h);
  sws_scale(sws.get(), srcData, srcStride, 0, h, rgb->data, rgb->linesize);

  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
  if (!codec) return makeError(ErrorCode::kUnsupported, "libavcodec has no PNG encoder");
  std::unique_ptr<AVCodecContext, CodecContextDeleter> encoder(avcodec_alloc_context3(codec));
  if (!encoder) return makeError(ErrorCode::kOutOfMemory, "avcodec_alloc_context3 failed");
  encoder->width = w;
  encoder->height = h;
  encoder->pix_fmt = AV_PIX_FMT_RGB24;
  encoder->time_base = AVRational{1, 25};
  if (int ret = avcodec_open2(encoder.get(), codec, nullptr); ret < 0)
    return makeError(ErrorCode::kBackendFailure, "avcodec_open2(png): {}", averror(ret));

  std::unique_ptr<AVPacket, PacketDeleter> packet(av_packet_alloc());
  if (!packet) return makeError(ErrorCode::kOutOfMemory, "av_packet_alloc failed");
  if (int ret = avcodec_send_frame(encoder.get(), rgb.get()); ret < 0)
    return makeError(ErrorCode::kBackendFailure, "avcodec_send_frame(png): {}", averror(ret));
  if (int ret = avcodec_send_frame(encoder.get(), nullptr); ret < 0)
    return makeError(ErrorCode::kBackendFailure, "avcodec_send_frame(png, flush): {}",
                     averror(ret));
  if (int ret = avcodec_receive_packet(encoder.get(), packet.get()); ret < 0)
    return makeError(ErrorCode::kBackendFailure, "avcodec_receive_packet(png): {}", averror(ret));

  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "wb"));
  if (!file) return makeError(ErrorCode::kBackendFailure, "cannot create {}", path);
  if (std::fwrite(packet->data, 1, size_t(packet->size), file.get()) != size_t(packet->size))
    return makeError(ErrorCode::kBackendFailure, "short write to {}", path);
  if (std::fclose(file.release()) != 0)
    return makeError(ErrorCode::kBackendFailure, "cannot close {}", path);
  return okStatus();
}

}  // namespace vdec::harness
