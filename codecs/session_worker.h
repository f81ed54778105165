// SPDX-License-Identifier: MIT
// SessionWorker: the one decode pipeline every backend runs on: the session's thread, its input
// queue, the packetizer, libavcodec's send/receive loop, flow control, drains, reset and clear.
// A DecoderEngine adds only how pictures are produced and written.
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
#include <utility>
#include <variant>
#include <vector>

#include "codecs/decode_error_log.h"
#include "codecs/decode_loop.h"
#include "codecs/decoder_backend.h"
#include "codecs/decoder_engine.h"
#include "codecs/decoder_session.h"
#include "codecs/packetizer.h"

namespace vdec::codecs {

// Life of a picture:
//
//   decode() -> input queue -> Packetizer -> DecodeLoop -> libavcodec (engine's get_buffer2)
//     -> decoded frames (<= kMaxDecodedFrames) -> [new geometry: FormatChanged; nothing is
//        parsed or sent until setOutputLayout()] -> engine.deliver() -> PictureReady
//
// Phases (Phase): Starting (no format yet: packets are parsed and offered to the engine's probe,
// but parked), AwaitingLayout (FormatChanged sent: nothing is parsed or sent), Decoding, Failed.
//
// Flow control, as a hardware stateful decoder (V4L2 dev-decoder "Capture setup"): an input
// buffer is returned (InputDone) only once its bytes went into the decoder (Packetizer), so while
// the stream waits for the guest's layout its input buffers stay queued and a client cannot run
// ahead to the end of its file before it has set up its output.
//
// Output latency: libavcodec holds pictures back for reordering and frame threads until more
// packets come or it is drained. When the stream has been idle for kIdleFlush (no input, all
// pictures delivered) the worker drains it (an idle flush, with the parser's last frame); the
// DecodeLoop replays the packets since the last key frame when input resumes, so decoding state
// is kept. A client that stops sending without a drain (its STOP dropped by the guest driver)
// therefore still gets every picture. Cost: pictures held for reordering come out after
// kIdleFlush instead of never, and a stream that stalls longer than kIdleFlush decodes its
// packets since the last key frame a second time when it resumes; a stall in the middle of a
// frame ends that frame early (it is decoded damaged).
//
// Damage: a picture is flagged (PictureReady::error) when libavcodec flags it as missing
// references or decoded before a recovery point (pictureDamaged(), ffmpeg_format.h), or logged a
// decoding error for its packet (or its second field's): DecodeErrorLog. The verdict is the same
// with and without frame threads.
//
// clearOutput() never waits: the resources are taken back at once (the engine hands none of
// them out again) and OutputCleared follows from the session thread once no picture is being
// written or decoded into them (after draining libavcodec if one may be).
//
// Threads: the DecoderSession methods run on the device thread and only touch the queues under
// the mutex; everything else runs on the session's thread. notify is called from the session
// thread without the mutex held.
class SessionWorker final : public DecoderSession {
 public:
  // Starts the session thread, which first opens the engine's decoder (DecoderEngine::open()).
  SessionWorker(CodedFormat format, SessionOptions options, std::unique_ptr<DecoderEngine> engine);
  // Stops and joins the session thread; lent targets are dropped without being written.
  ~SessionWorker() override;
  SessionWorker(const SessionWorker&) = delete;
  SessionWorker& operator=(const SessionWorker&) = delete;

  void decode(uint32_t inputId, uint64_t timestamp, std::vector<uint8_t> bytes) override;
  void queueOutput(OutputTarget target) override;
  void setOutputLayout(const buffers::FrameLayout& layout) override;
  void setGuestBufferCount(uint32_t count) override;
  void clearOutput() override;
  void flush() override;
  void reset() override;
  std::vector<DecoderEvent> takeEvents() override;

  // Decoded frames held at most while waiting for output resources (then nothing is parsed).
  static constexpr size_t kMaxDecodedFrames = 16;
  // Parsed packets held at most before the decoder takes them.
  static constexpr size_t kMaxQueuedPackets = 64;
  // How long a stream with nothing to do waits before its idle flush.
  static constexpr std::chrono::milliseconds kIdleFlush{150};

 private:
  struct Starting {};
  struct AwaitingLayout {};
  struct Decoding {};
  struct Failed {};
  using Phase = std::variant<Starting, AwaitingLayout, Decoding, Failed>;
  template <typename T>
  static bool in(const Phase& phase) {
    return std::holds_alternative<T>(phase);
  }
  enum class DrainKind { kFlush, kIdle, kQuiesce };
  struct QueuedInput {
    InputChunk chunk;
    bool flush = false;  // a flush() marker, not bytes
  };

  void run();
  bool step(std::unique_lock<std::mutex>& lock);
  void handleReset(std::unique_lock<std::mutex>& lock);
  void applyLayout(std::unique_lock<std::mutex>& lock);
  void handleClears(std::unique_lock<std::mutex>& lock);
  bool deliverStep(std::unique_lock<std::mutex>& lock);
  bool drainEndStep();
  bool decodeStep(std::unique_lock<std::mutex>& lock);
  bool takeInput();
  bool idleFlushDue(std::chrono::steady_clock::time_point now);
  bool failedStep(std::unique_lock<std::mutex>& lock);
  void announce(const FrameGeometry& geometry, int refs, int hasBFrames);
  void fail(std::string message);
  bool maySend(std::chrono::steady_clock::time_point now);
  bool damaged(const AVFrame& frame) const;
  void drainNow();
  void postConsumedLocked();
  template <typename Event>
  void postLocked(Event&& event);
  void wake();
  void pokeLocked();

  const CodedFormat format_;
  const SessionOptions options_;
  const std::unique_ptr<DecoderEngine> engine_;

  DecodeErrorLog errors_;  // of engine_'s contexts

  // Session thread only.
  Packetizer packetizer_;
  DecodeLoop loop_;
  Phase phase_ = Starting{};
  std::optional<DrainKind> drain_;
  std::deque<AvFramePtr> decoded_;
  std::optional<FrameGeometry> geometry_;
  std::optional<ProbedFormat> probed_;
  bool probeFailed_ = false;  // drained without a picture: packets are no longer parked for it
  uint32_t minBuffers_ = 0;   // announced with the current format
  std::optional<buffers::FrameLayout> appliedLayout_;
  std::optional<std::chrono::steady_clock::time_point> idleSince_;
  bool loopNeedsReset_ = false;  // failed: libavcodec to be reset without the lock

  std::mutex mutex_;
  std::condition_variable workCv_;  // wakes the session thread
  std::deque<QueuedInput> input_;
  std::optional<buffers::FrameLayout> layout_;
  bool layoutChanged_ = false;  // setOutputLayout() not yet applied
  std::optional<uint32_t> guestBuffers_;
  std::vector<ClearedTargets> pendingClears_;
  int pendingResets_ = 0;
  std::vector<uint32_t> cancelledInputs_;
  std::optional<std::chrono::steady_clock::time_point> wakeAt_;
  bool stop_ = false;
  uint64_t pokes_ = 0;  // wake-ups given (pokeLocked)
  bool notifyPending_ = false;
  std::vector<DecoderEvent> events_;

  std::thread thread_;  // last: started once everything above exists
};

template <typename Event>
void SessionWorker::postLocked(Event&& event) {
  // In-place construction: gcc 12 warns (falsely) about moving a variant into the vector.
  events_.emplace_back(std::in_place_type<std::decay_t<Event>>, std::forward<Event>(event));
  notifyPending_ = true;
}

// Starts a SessionWorker; a thread that cannot be started (the host is out of threads or
// mappings) is an error, not an exception.
Result<std::unique_ptr<DecoderSession>> startSessionWorker(CodedFormat format,
                                                           const SessionOptions& options,
                                                           std::unique_ptr<DecoderEngine> engine);

// Output resources the guest should allocate for direct rendering: the references (VP8 keeps 3,
// VP9 8 slots), the reordering delay, one picture per frame thread in flight, the one being
// delivered and one kept in reserve for copies and the end-of-stream buffer. At most 32.
uint32_t minOutputBuffers(CodedFormat format, int refs, int hasBFrames, int picturesInFlight);

}  // namespace vdec::codecs
