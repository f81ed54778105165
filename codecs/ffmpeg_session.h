// SPDX-License-Identifier: MIT
// FfmpegSession: one libavcodec software decoding stream running on its own thread.
#pragma once

#include <chrono>
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
#include "codecs/direct_layout.h"
#include "codecs/ffmpeg_format.h"
#include "codecs/ffmpeg_probe.h"
#include "codecs/frame_pool.h"
#include "vdec/base/result.h"

namespace vdec::codecs {

// Lifecycle of a picture:
//
//   decode() bytes -> input queue -> parser -> AVPacket -> libavcodec -> decoded frames (<= 16)
//     -> [new geometry: FormatChanged, wait for setOutputLayout()]
//     -> decoded in a lent OutputTarget (direct)     -> PictureReady (NV12: chroma interleaved)
//        or in a host frame (bounce) -> oldest free OutputTarget -> copy -> PictureReady
//
// Annex-B input (H.264, HEVC) and VP9 go through an AVCodecParserContext, so buffers may cut the
// stream anywhere; VP8 has no parser in libavcodec 5.1 and takes one frame per buffer. A picture
// carries the timestamp of the input that holds the first byte of its frame (as packet pts).
//
// First format: until one is announced every packet also goes to a single-threaded probe
// decoder (FfmpegProbe); when the input runs dry the probe is drained. Frame threading would
// hold a one-frame stream's only picture until a flush, and the guest flushes only after
// capture is set up, which needs FormatChanged first. The probe is freed once the format is
// announced; the real decoder's first picture of the same geometry announces nothing more.
// Until the guest's layout is known (and the buffer decision below made) parsed packets are
// parked, not decoded, so that the first pictures can already be decoded in place.
//
// Direct rendering (FramePool): libavcodec's get_buffer2 hands out the guest's own resources.
// The announced layout carries the strides and rows libavcodec needs (StreamFormat::strideAlign,
// heightAlign, extraRows). Per resource, buffers::decideOutputPath decides once (per layout)
// and it is logged. I420/YV12 are decoded in place (0 bytes copied); NV12 gets its luma in
// place and its chroma interleaved on output (the chroma's bytes are copied).
//
// Reference rule: a resource decoded into goes back to libavcodec for a new picture only when
// the guest has queued it again AND libavcodec released it (AVBuffer free callback); a
// delivered picture may still be a reference the decoder reads.
//
// Buffer starvation: the device tells how many output resources the guest created
// (setGuestBufferCount); with at least StreamFormat::minBuffers (references + reordering + frame
// threads + 2) the stream renders directly at once. Otherwise (fewer, or a guest that creates
// buffers as it queues them) the session counts the distinct resources the guest lends after
// setOutputLayout(): once minBuffers were lent it renders directly; if a resource comes back a
// second time first, or no more arrive for kLendSettle, the guest has fewer buffers than direct
// rendering needs:
// the stream decodes into host frames and copies out (bounce) until the next layout, with one
// warning. A guest that adds buffers later does not switch the stream back. Before feeding
// libavcodec the session waits (at most kGuestReturnWait per picture) for resources out with
// the guest, never for resources libavcodec holds; get_buffer2 itself never blocks: a picture
// that finds no free resource (one is always kept in reserve) is decoded into a host frame and
// copied, so no buffer count and no guest that keeps buffers can deadlock the stream.
//
// While 16 decoded frames wait for output resources (or for a layout) no more input is parsed:
// frames are never dropped, and the thread sleeps until the device lends, clears, resets, flushes
// or destroys. An unsupported pixel format (anything but 8-bit 4:2:0) ends decoding with
// StreamError; later input is still consumed with InputDone and flushes still end with EOS.
//
// Threads: the public methods are called from the device thread and only touch the queues under
// the mutex; libavcodec runs on the session's own thread plus its frame/slice threads, which
// call get_buffer2 (thread-safe, never blocks). notify is called from the session thread without
// the mutex held.
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
  void setGuestBufferCount(uint32_t count) override;
  // After it returns no cleared resource is written again:
  //  - a copy or chroma interleave in progress finishes first;
  //  - pictures decoded in place but not delivered stay queued and are copied into new targets
  //    (their old resources are only read);
  //  - a picture still being decoded into a cleared resource (frame threads) is waited for: the
  //    decoding thread drains libavcodec (send NULL, receive all) and flushes it. Decoding then
  //    goes on without the decoder's references until the next key frame (QUEUE_CLEAR(OUTPUT)
  //    in the middle of a stream is a seek or a stop in practice).
  // Resources still read by libavcodec as references are never handed to it again for a new
  // picture unless the guest queues them again (and libavcodec released them).
  std::vector<uint32_t> clearOutput() override;
  void flush() override;
  // Input queued before this call is cancelled (ResetDone::cancelledInputs), as is a flush that
  // has not finished (no FlushDone). Lent targets stay lent.
  void reset() override;
  std::vector<DecoderEvent> takeEvents() override;

  // Decoded frames held at most while waiting for output resources.
  static constexpr size_t kMaxDecodedFrames = 16;
  // Parsed packets held at most (parked before the layout is known, or waiting to be sent).
  static constexpr size_t kMaxPackets = 64;
  // How long after the last lend the guest is taken to have lent all its output buffers.
  // Without setGuestBufferCount(): how long to watch the guest lend before deciding.
  static constexpr std::chrono::milliseconds kLendSettle{100};
  // In direct mode: how long one picture waits for resources that are out with the guest.
  static constexpr std::chrono::milliseconds kGuestReturnWait{1000};

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

  FfmpegSession(CodedFormat format, SessionOptions options, std::shared_ptr<FramePool> pool,
                AvCodecContextPtr context, std::unique_ptr<FfmpegProbe> probe);

  void run();
  // One unit of work; returns false, without having released the lock, when there is none.
  bool step(std::unique_lock<std::mutex>& lock);
  void handleReset(std::unique_lock<std::mutex>& lock);
  void quiesce(std::unique_lock<std::mutex>& lock);
  void applyLayout();
  bool announce(const FrameGeometry& geometry, int refs, int hasBFrames);
  bool deliverStep(std::unique_lock<std::mutex>& lock);
  PictureReady deliverDirect(const AVFrame& frame, const buffers::FrameLayout& layout,
                             OutputTarget& target);
  bool endOfStreamStep(std::unique_lock<std::mutex>& lock);
  bool decodeStep(std::unique_lock<std::mutex>& lock);
  bool parkedLocked();
  bool decideModeLocked();
  bool failedStep();
  void fail(std::string message);
  // Queues an event (mutex held); the decoding thread calls notify once it has let go of it.
  template <typename Event>
  void postLocked(Event&& event);

  // Decoding-thread only, without the lock.
  void decodeOnce(bool maySend, bool mayParse, bool drainProbe);
  bool receiveFrame();
  void sendPacket(bool receiveWasEmpty);
  void parseInput();
  void pushPacket(AvPacketPtr packet);
  void resetDecoder();
  AvPacketPtr takeParsedPacket(const uint8_t* data, int size);
  uint32_t minBuffers(int refs, int hasBFrames) const;
  PictureReady writeFrame(const AVFrame& frame, const buffers::FrameLayout& layout,
                          OutputTarget& target) const;

  const CodedFormat format_;
  const SessionOptions options_;
  const std::shared_ptr<FramePool> pool_;  // before context_: outlives libavcodec's buffers

  // Decoding thread only.
  AvCodecContextPtr context_;
  AvParserPtr parser_;  // null for VP8
  std::unique_ptr<FfmpegProbe> probe_;  // until the first format is announced
  std::optional<ProbedFormat> probed_;
  bool probeFailed_ = false;  // drained without a picture: packets are no longer parked for it
  std::optional<Input> current_;
  size_t currentSize_ = 0;    // bytes of current_ (its vector grows by the parser's padding)
  size_t currentOffset_ = 0;  // bytes of current_ handed to the parser
  std::deque<AvPacketPtr> packets_;  // parsed, not yet accepted by libavcodec
  bool needReceive_ = false;
  Drain drain_ = Drain::kNone;
  std::deque<AvFramePtr> decoded_;
  std::optional<FrameGeometry> geometry_;
  std::optional<DecoderAlignment> alignment_;  // of geometry_
  uint32_t announcedMinBuffers_ = 0;
  std::optional<uint32_t> guestBuffers_;  // from setGuestBufferCount(), for the next layout
  // When the session started waiting for the guest to lend the buffers it counted on.
  std::optional<std::chrono::steady_clock::time_point> lendWaitSince_;
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
  std::condition_variable writeCv_;  // a picture write or a quiesce finished (clearOutput waits)
  std::deque<Input> input_;
  std::optional<buffers::FrameLayout> layout_;
  bool layoutChanged_ = false;  // setOutputLayout() not yet applied to the pool
  bool awaitingLayout_ = false;
  bool writing_ = false;
  bool quiesceRequested_ = false;
  std::optional<std::chrono::steady_clock::time_point> wakeAt_;
  std::optional<std::chrono::steady_clock::time_point> guestWaitSince_;
  int pendingResets_ = 0;
  std::vector<uint32_t> cancelledInputs_;
  bool stop_ = false;
  bool notifyPending_ = false;
  std::vector<DecoderEvent> events_;

  std::thread thread_;  // last: started once everything above exists
};

}  // namespace vdec::codecs
