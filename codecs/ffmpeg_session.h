// SPDX-License-Identifier: MIT
// FfmpegSession: one libavcodec software decoding stream running on its own thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "buffers/frame_layout.h"
#include "codecs/av_ptr.h"
#include "codecs/coded_format.h"
#include "codecs/decoder_backend.h"
#include "codecs/decoder_session.h"
#include "codecs/ffmpeg_format.h"
#include "vdec/base/result.h"

namespace vdec::codecs {

// Lifecycle of a picture:
//
//   decode() bytes -> input queue -> parser -> AVPacket -> libavcodec -> decoded frames (<= 16)
//     -> [new geometry: FormatChanged, wait for setOutputLayout()]
//     -> oldest free OutputTarget -> writePicture() -> PictureReady
//
// Annex-B input (H.264, HEVC) and VP9 go through an AVCodecParserContext, so buffers may cut the
// stream anywhere; VP8 has no parser in libavcodec 5.1 and takes one frame per buffer. A picture
// carries the timestamp of the input that holds the first byte of its frame (as packet pts).
// While 16 decoded frames wait for output resources (or for a layout) no more input is parsed:
// frames are never dropped, and the thread sleeps until the device lends, clears, resets, flushes
// or destroys. An unsupported pixel format (anything but 8-bit 4:2:0) ends decoding with
// StreamError; later input is still consumed with InputDone and flushes still end with EOS.
//
// Threads: the public methods are called from the device thread and only touch the queues under
// the mutex; libavcodec runs on the session's own thread (plus its frame/slice threads). notify
// is called from the session thread without the mutex held.
class FfmpegSession final : public DecoderSession {
 public:
  // Opens the libavcodec decoder for `format` and starts the decoding thread.
  static Result<std::unique_ptr<FfmpegSession>> create(CodedFormat format,
                                                       const SessionOptions& options);
  // Stops and joins the decoding thread; lent targets are dropped without being written.
  ~FfmpegSession() override;

  FfmpegSession(const FfmpegSession&) = delete;
  FfmpegSession& operator=(const FfmpegSession&) = delete;

  void decode(uint32_t inputId, uint64_t timestamp, std::vector<uint8_t> bytes) override;
  void queueOutput(OutputTarget target) override;
  void setOutputLayout(const buffers::FrameLayout& layout) override;
  // Waits for a picture write in progress; frames already decoded stay queued for new targets.
  std::vector<uint32_t> clearOutput() override;
  void flush() override;
  // Input queued before this call is cancelled (ResetDone::cancelledInputs), as is a flush that
  // has not finished (no FlushDone). Lent targets stay lent.
  void reset() override;
  std::vector<DecoderEvent> takeEvents() override;

  // Decoded frames held at most while waiting for output resources.
  static constexpr size_t kMaxDecodedFrames = 16;

 private:
  struct Input {
    uint32_t id = 0;
    uint64_t timestamp = 0;
    std::vector<uint8_t> bytes;
    bool flush = false;  // a flush() marker, not bytes
  };
  enum class Drain { kNone, kFlushParser, kSendNull, kReceiving, kDone };
  // Bytes [.., end) of the parsed stream came from an input stamped `timestamp`.
  struct StampedRange {
    uint64_t end = 0;
    uint64_t timestamp = 0;
  };

  FfmpegSession(CodedFormat format, SessionOptions options, AvCodecContextPtr context);

  void run();
  // One unit of work; returns false, without having released the lock, when there is none.
  bool step(std::unique_lock<std::mutex>& lock);
  void handleReset(std::unique_lock<std::mutex>& lock);
  bool deliverStep(std::unique_lock<std::mutex>& lock);
  bool endOfStreamStep(std::unique_lock<std::mutex>& lock);
  bool decodeStep(std::unique_lock<std::mutex>& lock);
  bool failedStep();
  void fail(std::string message);
  // Queues an event (mutex held); the decoding thread calls notify once it has let go of it.
  template <typename Event>
  void postLocked(Event&& event);

  // Decoding-thread only, without the lock.
  void decodeOnce();
  bool receiveFrame();
  void sendPacket(bool receiveWasEmpty);
  void parseInput();
  void resetDecoder();
  AvPacketPtr takeParsedPacket(const uint8_t* data, int size);
  uint32_t minBuffers() const;
  PictureReady writeFrame(const AVFrame& frame, const buffers::FrameLayout& layout,
                          OutputTarget& target) const;

  const CodedFormat format_;
  const SessionOptions options_;

  // Decoding thread only.
  AvCodecContextPtr context_;
  AvParserPtr parser_;  // null for VP8
  std::optional<Input> current_;
  size_t currentSize_ = 0;    // bytes of current_ (its vector grows by the parser's padding)
  size_t currentOffset_ = 0;  // bytes of current_ handed to the parser
  AvPacketPtr pendingPacket_;
  bool needReceive_ = false;
  Drain drain_ = Drain::kNone;
  std::deque<AvFramePtr> decoded_;
  std::optional<FrameGeometry> geometry_;
  bool failed_ = false;
  std::vector<uint32_t> doneInputs_;
  // The parser's own pts is the timestamp of a buffer that *starts inside* a frame (MPEG PES
  // rules), so whole-frame buffers would get none. Its packets concatenate to exactly the bytes
  // fed in, so byte offsets tell which input holds each frame's first byte.
  std::deque<StampedRange> stamps_;
  uint64_t parsedIn_ = 0;   // bytes handed to the parser
  uint64_t parsedOut_ = 0;  // bytes it returned as packets
  uint64_t lastTimestamp_ = 0;

  std::mutex mutex_;
  std::condition_variable workCv_;   // wakes the decoding thread
  std::condition_variable writeCv_;  // a picture write finished (clearOutput waits)
  std::deque<Input> input_;
  std::deque<OutputTarget> free_;
  std::optional<buffers::FrameLayout> layout_;
  bool awaitingLayout_ = false;
  bool writing_ = false;
  int pendingResets_ = 0;
  std::vector<uint32_t> cancelledInputs_;
  bool stop_ = false;
  bool notifyPending_ = false;
  std::vector<DecoderEvent> events_;

  std::thread thread_;  // last: started once everything above exists
};

}  // namespace vdec::codecs
