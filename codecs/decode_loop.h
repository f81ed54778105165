// SPDX-License-Identifier: MIT
// DecodeLoop: libavcodec's send/receive cycle for one session, its drains, and the replay that
// lets decoding go on after a drain as if it had never happened.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "codecs/av_ptr.h"
#include "codecs/packetizer.h"

namespace vdec::codecs {

// Packets wait in a queue until libavcodec accepts them; every call into libavcodec is one
// step(), so the session can look at its queues between two calls.
//
// Drains: libavcodec gives out every picture it holds (frame threads, reordering) only when
// drained (a NULL packet), and after a drain it takes packets again only once flushed, which
// drops its references. So that a drain does not cost the stream its references, the loop keeps
// the packets sent since the last key frame (the replay log). When packets come after a drain,
// the log is sent again first and the pictures it gives are dropped: every packet at or before
// the drain's last one (by pts, which is the packet's number) came out at the drain already.
// A log that outgrows its bounds is dropped until the next key frame; `canReplay()` says so, and
// a drain without it leaves the decoder without references until the next key frame.
//
// Threads: the session thread only; the context belongs to the backend.
class DecodeLoop {
 public:
  explicit DecodeLoop(AVCodecContext& context) : context_(context) {}

  // Queues a packet for the decoder (sent by later steps, in order).
  void push(ParsedPacket packet);
  size_t queued() const { return queue_.size(); }
  // True while libavcodec may have a picture to give before taking more packets.
  bool wantsReceive() const { return needReceive_ || drain_ == DrainState::kReceiving; }

  enum class Step {
    kIdle,      // nothing was done: no packet may or can be sent, nothing to receive
    kProgress,  // libavcodec was called (a packet went in, or a drain moved on)
    kFrame,     // a picture came out (in `frame`)
  };
  // One call into libavcodec. Sends the next packet only if `maySend`; a drain in progress
  // sends its NULL packet once the queue is empty.
  Step step(bool maySend, AvFramePtr& frame);

  // Starts a drain: the queued packets go first (as maySend allows), then NULL; with
  // `keepQueued` NULL goes at once and the queued packets stay for after the drain.
  void startDrain(bool keepQueued);
  bool draining() const { return drain_ != DrainState::kNone && drain_ != DrainState::kDone; }
  // The drain gave out everything; the decoder was flushed (endDrain() clears this).
  bool drained() const { return drain_ == DrainState::kDone; }
  void endDrain() { drain_ = DrainState::kNone; }

  // Drops queued packets, the log and libavcodec's state (QUEUE_CLEAR of the input).
  void reset();

  // The last packet libavcodec accepted (0: none yet).
  uint64_t lastSentSeq() const { return lastSentSeq_; }
  // Packets went in since the last drain (pictures may be held).
  bool sentSinceDrain() const { return sentSinceDrain_; }
  // A drain now could be undone by replaying the log.
  bool canReplay() const { return logValid_; }

  // Bounds of the replay log: its memory, and what replaying it costs (pixels to decode again:
  // 2^30 is ~500 pictures at 1080p, ~42000 at 176x144).
  static constexpr size_t kMaxLogBytes = size_t{48} << 20;
  static constexpr uint64_t kMaxLogPixels = uint64_t{1} << 30;

 private:
  enum class DrainState { kNone, kSendNull, kReceiving, kDone };

  bool receive(AvFramePtr& frame);
  void send(bool receiveWasEmpty);
  void finishDrain();
  void log(ParsedPacket sent);

  AVCodecContext& context_;
  std::deque<ParsedPacket> queue_;
  std::deque<AvPacketPtr> replay_;  // sent again before queue_ after a drain
  bool needReceive_ = false;
  DrainState drain_ = DrainState::kNone;
  uint64_t lastSentSeq_ = 0;
  bool sentSinceDrain_ = false;
  bool drainKeepsQueue_ = false;
  std::optional<uint64_t> discardUpTo_;  // pictures of packets <= this came out already
  bool replayPending_ = false;  // a drain flushed the decoder; the log goes in before new packets
  std::deque<AvPacketPtr> log_;  // packets sent since the last key frame
  size_t logBytes_ = 0;
  uint64_t logPixels_ = 0;
  bool logValid_ = false;  // log_ starts at a key frame and fits its bounds
};

}  // namespace vdec::codecs
