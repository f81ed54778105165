// SPDX-License-Identifier: MIT
#include "codecs/host_frame_allocator.h"

#include <algorithm>

#include <fmt/format.h>

extern "C" {
#include <libavutil/imgutils.h>
}

namespace vdec::codecs {
namespace {

// The opaque of the buffer that stands in for the picture's first buffer: the real one and the
// charge, both released when libavcodec and the session drop the last reference.
struct ChargedBuffer {
  AVBufferRef* inner = nullptr;
  MemoryBudget::Charge charge;
};

void releaseChargedBuffer(void* opaque, uint8_t* /*data*/) {
  auto* charged = static_cast<ChargedBuffer*>(opaque);
  av_buffer_unref(&charged->inner);
  delete charged;  // gives the bytes back
}

void unrefBuffers(AVFrame& frame) {
  for (AVBufferRef*& buffer : frame.buf) av_buffer_unref(&buffer);
  for (int i = 0; i < frame.nb_extended_buf; ++i) av_buffer_unref(&frame.extended_buf[i]);
  av_freep(&frame.extended_buf);
  frame.nb_extended_buf = 0;
  std::fill(std::begin(frame.data), std::end(frame.data), nullptr);
  frame.extended_data = nullptr;
}

}  // namespace

HostFrameAllocator::HostFrameAllocator(std::shared_ptr<MemoryBudget> budget)
    : budget_(std::move(budget)) {}

uint64_t HostFrameAllocator::pictureCost(int format, int width, int height) {
  // libavcodec aligns the dimensions (codec block size, STRIDE_ALIGN) and adds edges; 64 on
  // each axis and a 64-byte line alignment cover it.
  const int alignedWidth = FFALIGN(std::max(width, 1), 64) + 64;
  const int alignedHeight = FFALIGN(std::max(height, 1), 64) + 64;
  const int size =
      av_image_get_buffer_size(static_cast<AVPixelFormat>(format), alignedWidth, alignedHeight, 64);
  if (size > 0) return static_cast<uint64_t>(size);
  return uint64_t{static_cast<uint32_t>(alignedWidth)} * static_cast<uint32_t>(alignedHeight) * 8;
}

int HostFrameAllocator::allocate(AVCodecContext* context, AVFrame* frame, int flags) {
  if (!budget_) return avcodec_default_get_buffer2(context, frame, flags);
  const uint64_t cost = pictureCost(frame->format, frame->width, frame->height);
  std::optional<MemoryBudget::Charge> charge = budget_->tryCharge(cost);
  if (!charge) {
    refusedBytes_.store(cost, std::memory_order_relaxed);
    refused_.store(true, std::memory_order_release);
    return AVERROR(ENOMEM);
  }
  if (const int ret = avcodec_default_get_buffer2(context, frame, flags); ret < 0) return ret;
  auto* charged = new ChargedBuffer{frame->buf[0], std::move(*charge)};
  AVBufferRef* outer = av_buffer_create(charged->inner->data, charged->inner->size,
                                        &releaseChargedBuffer, charged, 0);
  if (outer == nullptr) {
    frame->buf[0] = nullptr;
    av_buffer_unref(&charged->inner);
    delete charged;
    unrefBuffers(*frame);
    return AVERROR(ENOMEM);
  }
  frame->buf[0] = outer;
  return 0;
}

std::optional<std::string> HostFrameAllocator::takeFailure() {
  if (!refused_.load(std::memory_order_acquire) || reported_.exchange(true)) return std::nullopt;
  return fmt::format(
      "a host picture of {} bytes is over the stream's memory budget ({} of {} "
      "bytes held)",
      refusedBytes_.load(std::memory_order_relaxed), budget_->used(), budget_->limit());
}

}  // namespace vdec::codecs
