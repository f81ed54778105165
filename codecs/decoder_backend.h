// SPDX-License-Identifier: MIT
// DecoderBackend: a family of decoders (FFmpeg software, VA-API) behind one interface.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "buffers/frame_layout.h"
#include "codecs/codec_profile.h"
#include "codecs/coded_format.h"
#include "codecs/decoder_session.h"
#include "codecs/decoder_threads.h"
#include "vdec/base/memory_budget.h"
#include "vdec/base/result.h"

namespace vdec::codecs {

struct CodecCapability {
  CodedFormat format;
  std::vector<CodecProfile> profiles;  // sorted
  std::vector<CodecLevel> levels;      // sorted; H.264 only
  uint32_t minWidth = 16, maxWidth = 4096, minHeight = 16, maxHeight = 4096;
};

struct SessionOptions {
  buffers::PixelFormat outputFormat = buffers::PixelFormat::kNv12;  // may change via layout
  int threads = 0;  // most libavcodec threads for this stream; 0 = automatic (decoder_threads.h)
  // Daemon-wide thread budget the stream takes its share from; null: `threads` as asked.
  std::shared_ptr<ThreadBudget> threadBudget;
  // How the session's threads run below the device thread.
  DecoderPriority priority;
  bool forceBounce = false;  // never decode into guest buffers (--copy-mode bounce)
  // Called from the decoding thread whenever takeEvents() has something; must be thread-safe
  // and must not call back into the session.
  std::function<void()> notify;
  // The stream's memory budget: every host picture is charged to it before it is allocated; a
  // refused charge fails the stream (StreamError). Null: not charged.
  std::shared_ptr<MemoryBudget> memoryBudget;
};

class DecoderBackend {
 public:
  virtual ~DecoderBackend() = default;
  virtual std::string name() const = 0;
  virtual std::vector<CodecCapability> capabilities() const = 0;
  // Raw formats this backend writes.
  virtual std::vector<buffers::PixelFormat> outputFormats() const = 0;
  virtual Result<std::unique_ptr<DecoderSession>> createSession(CodedFormat format,
                                                                const SessionOptions& options) = 0;
};

}  // namespace vdec::codecs
