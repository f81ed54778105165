// SPDX-License-Identifier: MIT
// Owning smart pointers for the libavcodec objects the FFmpeg backend uses.
#pragma once

#include <memory>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/buffer.h>
#include <libavutil/frame.h>
}

namespace vdec::codecs {

struct AvCodecContextDeleter {
  void operator()(AVCodecContext* context) const { avcodec_free_context(&context); }
};
struct AvFrameDeleter {
  void operator()(AVFrame* frame) const { av_frame_free(&frame); }
};
struct AvPacketDeleter {
  void operator()(AVPacket* packet) const { av_packet_free(&packet); }
};
struct AvParserDeleter {
  void operator()(AVCodecParserContext* parser) const { av_parser_close(parser); }
};

struct AvBufferRefDeleter {
  void operator()(AVBufferRef* ref) const { av_buffer_unref(&ref); }
};
// Uninit marks the pool for freeing; buffers still out keep it alive until they come back.
struct AvBufferPoolDeleter {
  void operator()(AVBufferPool* pool) const { av_buffer_pool_uninit(&pool); }
};

using AvCodecContextPtr = std::unique_ptr<AVCodecContext, AvCodecContextDeleter>;
using AvFramePtr = std::unique_ptr<AVFrame, AvFrameDeleter>;
using AvPacketPtr = std::unique_ptr<AVPacket, AvPacketDeleter>;
using AvParserPtr = std::unique_ptr<AVCodecParserContext, AvParserDeleter>;
using AvBufferRefPtr = std::unique_ptr<AVBufferRef, AvBufferRefDeleter>;
using AvBufferPoolPtr = std::unique_ptr<AVBufferPool, AvBufferPoolDeleter>;

}  // namespace vdec::codecs
