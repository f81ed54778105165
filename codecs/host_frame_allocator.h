// SPDX-License-Identifier: MIT
// HostFrameAllocator: libavcodec's host picture allocation, charged to a memory budget first.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "vdec/base/memory_budget.h"

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace vdec::codecs {

// Every picture a session decodes into host memory (bounce pictures, pictures that do not fit
// the guest's layout, formats without direct rendering) comes from here. Its size is charged to
// the stream's MemoryBudget before avcodec_default_get_buffer2 allocates it, and the charge
// lives as long as the picture's buffer does (libavcodec's references and the session's queue
// of decoded pictures included): a stream holding 16 decoded 8192x8192 pictures for a guest that
// gave one output buffer is refused at its share instead of taking 1.8 GiB.
//
// A refused charge fails the allocation (AVERROR(ENOMEM)) and is remembered: the session polls
// takeFailure() and fails the stream (the guest gets VIRTIO_VIDEO_EVENT_ERROR).
//
// Threads: allocate() runs on libavcodec's threads, takeFailure() on the session's.
class HostFrameAllocator {
 public:
  // `budget` may be null: pictures are then not charged.
  explicit HostFrameAllocator(std::shared_ptr<MemoryBudget> budget);

  // avcodec_default_get_buffer2, charged.
  int allocate(AVCodecContext* context, AVFrame* frame, int flags);
  // Why a picture was refused, once after the first refusal; nullopt otherwise.
  std::optional<std::string> takeFailure();

  // Bytes charged for one picture of this format and size (libavcodec's padding included).
  static uint64_t pictureCost(int format, int width, int height);

 private:
  const std::shared_ptr<MemoryBudget> budget_;
  std::atomic<bool> refused_{false};
  std::atomic<bool> reported_{false};
  std::atomic<uint64_t> refusedBytes_{0};
};

}  // namespace vdec::codecs
