// SPDX-License-Identifier: MIT
#include "codecs/decode_loop.h"

#include <algorithm>

#include "codecs/ffmpeg_format.h"
#include "vdec/base/logging.h"

namespace vdec::codecs {

void DecodeLoop::push(ParsedPacket packet) {
  if (packet.packet) queue_.push_back(std::move(packet));
}

void DecodeLoop::startDrain(bool keepQueued) {
  drainKeepsQueue_ = keepQueued;
  // Nothing went in since the last drain (and nothing will first): the decoder holds nothing.
  const bool empty = !sentSinceDrain_ && (keepQueued || queue_.empty());
  drain_ = empty ? DrainState::kDone : DrainState::kSendNull;
}

DecodeLoop::Step DecodeLoop::step(bool maySend, AvFramePtr& frame) {
  bool receiveWasEmpty = false;
  if (wantsReceive()) {
    if (receive(frame)) return frame ? Step::kFrame : Step::kProgress;
    receiveWasEmpty = true;
  }
  if (drain_ == DrainState::kSendNull && drainKeepsQueue_) maySend = false;
  if (maySend && replayPending_ && !queue_.empty()) {
    // New packets after a drain: the decoder first gets back the references it had.
    replayPending_ = false;
    for (const AvPacketPtr& packet : log_) replay_.emplace_back(av_packet_clone(packet.get()));
    logs::codecs().debug("decoder: replaying {} packets from the last key frame", replay_.size());
  }
  if (maySend && (!replay_.empty() || !queue_.empty())) {
    send(receiveWasEmpty);
    return Step::kProgress;
  }
  if (drain_ == DrainState::kSendNull && (queue_.empty() || drainKeepsQueue_) && replay_.empty()) {
    const int ret = avcodec_send_packet(&context_, nullptr);
    if (ret < 0) logs::codecs().debug("decoder: drain: {}", avErrorString(ret));
    drain_ = DrainState::kReceiving;
    return Step::kProgress;
  }
  if (drain_ == DrainState::kReceiving) {
    // Receiving gave EAGAIN while draining: libavcodec has nothing more.
    finishDrain();
    return Step::kProgress;
  }
  return Step::kIdle;
}

// Returns true when the call changed something (a picture, a dropped picture, the drain's end).
bool DecodeLoop::receive(AvFramePtr& frame) {
  AvFramePtr received(av_frame_alloc());
  const int ret =
      received ? avcodec_receive_frame(&context_, received.get()) : AVERROR(ENOMEM);
  if (ret == 0) {
    if (discardUpTo_ && received->pts != AV_NOPTS_VALUE &&
        static_cast<uint64_t>(received->pts) <= *discardUpTo_) {
      return true;  // given out at a drain already; decoded again by the replay
    }
    frame = std::move(received);
    return true;
  }
  if (ret == AVERROR_EOF) {
    needReceive_ = false;
    if (drain_ == DrainState::kReceiving) finishDrain();
    return true;
  }
  if (ret == AVERROR(EAGAIN)) {
    needReceive_ = false;
    return false;
  }
  // A damaged picture (frame threads report it here); decoding goes on with the next one.
  logs::codecs().debug("decoder: avcodec_receive_frame: {}", avErrorString(ret));
  return true;
}

void DecodeLoop::send(bool receiveWasEmpty) {
  const bool replaying = !replay_.empty();
  AVPacket* packet = replaying ? replay_.front().get() : queue_.front().packet.get();
  // The packet's number, for the errors libavcodec logs while decoding it (DecodeErrorLog).
  context_.reordered_opaque = packet->pts;
  const int ret = avcodec_send_packet(&context_, packet);
  if (ret == AVERROR(EAGAIN) && !receiveWasEmpty) {
    needReceive_ = true;  // take pictures out first, then send again
    return;
  }
  if (ret < 0) {
    // Corrupt input is the guest's business: logged at debug, decoding continues.
    logs::codecs().debug("decoder: avcodec_send_packet: {}", avErrorString(ret));
  }
  if (replaying) {
    replay_.pop_front();
  } else {
    ParsedPacket sent = std::move(queue_.front());
    queue_.pop_front();
    lastSentSeq_ = sent.seq;
    log(std::move(sent));
  }
  sentSinceDrain_ = true;
  needReceive_ = true;
}

void DecodeLoop::log(ParsedPacket sent) {
  if (sent.keyFrame) {
    log_.clear();
    logBytes_ = 0;
    logPixels_ = 0;
    logValid_ = true;
  }
  if (!logValid_) return;
  const auto size = static_cast<size_t>(sent.packet->size);
  const auto pixels = static_cast<uint64_t>(std::max(context_.coded_width, 16)) *
                      static_cast<uint64_t>(std::max(context_.coded_height, 16));
  if (logBytes_ + size > kMaxLogBytes || logPixels_ + pixels > kMaxLogPixels) {
    log_.clear();
    logBytes_ = 0;
    logPixels_ = 0;
    logValid_ = false;  // until the next key frame
    return;
  }
  logBytes_ += size;
  logPixels_ += pixels;
  log_.push_back(std::move(sent.packet));
}

void DecodeLoop::finishDrain() {
  // After a drain libavcodec takes packets again only once flushed.
  avcodec_flush_buffers(&context_);
  needReceive_ = false;
  drain_ = DrainState::kDone;
  discardUpTo_ = lastSentSeq_;
  sentSinceDrain_ = false;
  replay_.clear();
  replayPending_ = logValid_ && !log_.empty();
  if (!logValid_) {
    logs::codecs().debug("decoder: drained without a replayable log; references are lost until "
                         "the next key frame");
  }
}

void DecodeLoop::reset() {
  queue_.clear();
  replay_.clear();
  log_.clear();
  logBytes_ = 0;
  logPixels_ = 0;
  logValid_ = false;
  replayPending_ = false;
  avcodec_flush_buffers(&context_);
  needReceive_ = false;
  drain_ = DrainState::kNone;
  sentSinceDrain_ = false;
  discardUpTo_ = lastSentSeq_;
}

}  // namespace vdec::codecs
