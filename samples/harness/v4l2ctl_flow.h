// SPDX-License-Identifier: MIT
// V4l2CtlFlow: the decisions that `v4l2-ctl --stream-mmap --stream-out-mmap --stream-from F`
// (v4l-utils 1.22, stateful_m2m) and the ARCVM virtio-video guest driver take while a decode
// runs, kept apart from the I/O so that each one can be tested: whether a queued OUTPUT buffer
// reaches the device now or waits in the guest, whether DEC_CMD_STOP becomes a STREAM_DRAIN or
// is dropped, what a CAPTURE buffer is to the client, when CAPTURE is set up, and when the
// client gives up. Source: ../shared/reference/guest-driver.md §2, §4, §8 and the second §9.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace vdec::harness {

// One object per stream. The caller feeds it, in this order for each batch of device activity,
// what the guest driver sees (resolutionChanged, captureDone), then what v4l2-ctl does in one
// select() iteration (refills through inputGoesOut/stop, then the events), then asks
// endOfIteration() what comes next. No clock of its own: times are passed in.
// Threads: one owner thread.
class V4l2CtlFlow {
 public:
  using Clock = std::chrono::steady_clock;

  // The guest driver's stream state (virtio_video.h), from S_FMT(OUTPUT) on (IDLE is over).
  enum class GuestState { kInit, kMetadata, kRunning, kDrain, kStopped };
  // What v4l2-ctl makes of a dequeued CAPTURE buffer.
  enum class Capture {
    kFrame,  // written to the output file (here: md5ed), then re-queued
    kSkip,   // ERROR or bytesused 0: not written, re-queued
    kLast,   // V4L2_BUF_FLAG_LAST (the device's EOS): not written, not re-queued
  };
  // What the client does after one select() iteration.
  enum class Next { kContinue, kCaptureSetup, kExit };
  // Why the client left its loop.
  enum class Ending { kRunning, kLastBuffer, kIdleAfterStop, kSelectTimeout, kErrorEvent };

  // v4l2-ctl's select() timeouts: 2 s, 0.5 s once it has sent its STOP.
  static constexpr std::chrono::milliseconds kSelectTimeout{2000};
  static constexpr std::chrono::milliseconds kSelectTimeoutAfterStop{500};

  explicit V4l2CtlFlow(Clock::time_point start) : lastActivity_(start) {}

  // --- The guest driver, as the device's completions and events arrive ---
  // DECODER_RESOLUTION_CHANGED: the driver re-reads both queues' params (the caller sends the
  // two GET_PARAMS_EXT) and, in INIT, moves to METADATA, where QBUF(OUTPUT) is held.
  void resolutionChanged();
  // A CAPTURE completion. The driver turns ERR into ERROR with bytesused 0, EOS into LAST with
  // bytesused 0 plus a V4L2_EVENT_EOS and the STOPPED state, and otherwise reports bytesused =
  // the sum of the cached plane sizes (`frameBytes`), whatever the device wrote in `size`.
  Capture captureDone(uint32_t flags, uint64_t frameBytes);

  // --- v4l2-ctl ---
  // Whether a QBUF(OUTPUT) made now reaches the device at once (INIT, RUNNING) or waits in the
  // guest until CAPTURE streams (METADATA, STOPPED) or the drain ends (DRAIN).
  bool inputGoesOut() const;
  // wr_fds: v4l2-ctl refills returned OUTPUT buffers only until it sent its STOP or saw EOS.
  bool writing() const { return writing_; }
  // The file ended when the client wanted to fill a free OUTPUT buffer: DEC_CMD_STOP. True when
  // the driver sends STREAM_DRAIN (both queues stream); false when it drops the STOP.
  bool stop();
  // V4L2_EVENT_SOURCE_CHANGE dequeued: CAPTURE is set up at the end of this iteration if it is
  // not streaming yet, else after the next LAST buffer (never, on this guest, without a drain).
  void sourceChangeEvent();
  // V4L2_EVENT_EOS dequeued (the driver queues one with every LAST buffer): no more refills.
  void eosEvent() { writing_ = false; }
  // VIRTIO_VIDEO_EVENT_ERROR: both guest queues fail, the client's next DQBUF errors out.
  void errorEvent();
  // The end of one select() iteration.
  Next endOfIteration();
  // capture_setup ran up to STREAMON(CAPTURE): the driver state becomes RUNNING, and buffers
  // held in the guest go out.
  void captureStreaming();

  // --- Time: v4l2-ctl leaves when select() sees nothing for its timeout ---
  // Call after each iteration in which something was seen (a returned input, a CAPTURE
  // buffer, an event); select() is re-armed from then.
  void activity(Clock::time_point now) { lastActivity_ = now; }
  Clock::time_point deadline() const;
  // select() returned 0 at `deadline()`: the client leaves.
  void timedOut();

  GuestState guestState() const { return state_; }
  Ending ending() const { return ending_; }
  bool captureIsStreaming() const { return captureStreaming_; }
  bool stopSent() const { return stopSent_; }
  bool stopDropped() const { return stopSent_ && !drainSent_; }
  bool lastBufferSeen() const { return lastSeen_; }

  static std::string_view guestStateName(GuestState state);
  static std::string_view endingName(Ending ending);  // e.g. "0.5 s idle after STOP"

 private:
  GuestState state_ = GuestState::kInit;
  Ending ending_ = Ending::kRunning;
  Clock::time_point lastActivity_;
  bool writing_ = true;
  bool stopSent_ = false;
  bool drainSent_ = false;
  bool captureStreaming_ = false;
  bool sourceChangePending_ = false;  // in_source_change_event
  bool lastBuffer_ = false;           // last_buffer: LAST seen, or a source change before CAPTURE
  bool lastSeen_ = false;             // a LAST buffer was ever dequeued
  bool failed_ = false;
};

}  // namespace vdec::harness
