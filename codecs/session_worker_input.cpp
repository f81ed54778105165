// SPDX-License-Identifier: MIT
// SessionWorker, the input side (see session_worker.h): when packets may go to libavcodec, the
// decode step (send/receive, parsing, the probe), taking queued input, the idle flush, and input
// once the session failed. The thread, phases, delivery, reset and clears are in
// session_worker.cpp.
#include "codecs/session_worker.h"

#include <utility>

#include "vdec/base/logging.h"

namespace vdec::codecs {

// Packets wait (parked) for the first format unless a flush needs them decoded now or the probe
// failed, for the guest's layout, and for the engine (direct rendering's buffers).
bool SessionWorker::maySend(std::chrono::steady_clock::time_point now) {
  if (in<Starting>(phase_)) {
    const bool probing = !probeFailed_ && loop_.queued() < kMaxQueuedPackets;
    return drain_ == DrainKind::kFlush || !probing;
  }
  if (!in<Decoding>(phase_)) return false;
  const SendReadiness readiness = engine_->readyToSend(now);
  if (!readiness.ready && readiness.lookAgainAt) wakeAt_ = readiness.lookAgainAt;
  return readiness.ready;
}

bool SessionWorker::decodeStep(std::unique_lock<std::mutex>& lock) {
  if (in<Failed>(phase_)) return failedStep(lock);
  if (decoded_.size() >= kMaxDecodedFrames) return false;
  const auto now = std::chrono::steady_clock::now();
  // Before the first send the engine prepares lent resources (imports, mappings).
  if (in<Decoding>(phase_)) {
    lock.unlock();
    const bool prepared = engine_->prepare();
    lock.lock();
    if (prepared) return true;
  }
  const bool send = maySend(now) && loop_.queued() > 0;
  const bool loopWork = loop_.wantsReceive() || send || loop_.draining();
  // No parsing while the guest sets up its output: input stays queued (flow control).
  const bool parse = packetizer_.parsing() && loop_.queued() < kMaxQueuedPackets &&
                     !in<AwaitingLayout>(phase_);
  const bool drainProbe = in<Starting>(phase_) && !probed_ && engine_->probePending() &&
                          ((input_.empty() && !packetizer_.parsing()) ||
                           loop_.queued() >= kMaxQueuedPackets) &&
                          !drain_;
  if (!loopWork && !parse && !drainProbe) {
    if (!packetizer_.parsing() && takeInput()) return true;
    return idleFlushDue(now);
  }
  idleSince_.reset();
  lock.unlock();
  AvFramePtr frame;
  DecodeLoop::Step result = DecodeLoop::Step::kIdle;
  if (loopWork) result = loop_.step(send, frame);
  if (result == DecodeLoop::Step::kIdle && parse) {
    std::optional<ParsedPacket> packet = packetizer_.parseStep(engine_->context());
    if (packet && in<Starting>(phase_) && !probed_) probed_ = engine_->probePacket(*packet->packet);
    if (packet) loop_.push(std::move(*packet));
    result = DecodeLoop::Step::kProgress;
  } else if (result == DecodeLoop::Step::kIdle && drainProbe) {
    probed_ = engine_->drainProbe();
    probeFailed_ = !probed_;
    if (probeFailed_) logs::codecs().debug("{}: the probe found no picture yet", engine_->name());
    result = DecodeLoop::Step::kProgress;
  }
  if (frame) engine_->received(*frame);
  std::optional<std::string> failure = engine_->takeFailure();
  lock.lock();
  if (frame) decoded_.push_back(std::move(frame));
  postConsumedLocked();
  if (failure) {
    fail(std::move(*failure));
    return true;
  }
  if (result != DecodeLoop::Step::kIdle) return true;
  // libavcodec had nothing to give: the next input, or the idle flush.
  return (!packetizer_.parsing() && takeInput()) || idleFlushDue(now);
}

void SessionWorker::postConsumedLocked() {
  for (uint32_t id : packetizer_.takeConsumed(loop_.lastSentSeq())) postLocked(InputDone{id});
}

// Takes the next queued input (mutex held); false when there is none.
bool SessionWorker::takeInput() {
  // A reset asked for while a step ran: it goes first (it must not cancel later input).
  if (input_.empty() || pendingResets_ > 0) return false;
  QueuedInput input = std::move(input_.front());
  input_.pop_front();
  idleSince_.reset();
  if (input.flush) {
    drain_ = DrainKind::kFlush;
    if (std::optional<ParsedPacket> last = packetizer_.finish(engine_->context())) {
      loop_.push(std::move(*last));
    }
    loop_.startDrain(/*keepQueued=*/false);
  } else if (input.chunk.bytes.empty()) {
    postLocked(InputDone{input.chunk.id});  // an empty buffer would mean "flush" to the parser
  } else {
    packetizer_.start(std::move(input.chunk));
  }
  return true;
}

// Nothing to do (mutex held): after kIdleFlush of it, the pictures held back come out.
//  - Decoding (or Starting with packets going to the decoder): libavcodec and the parser are
//    drained, only when the drain can be undone (replay) or nothing that needs references went
//    in yet.
//  - Starting, with the probe waiting: the parser gives its last frame to the probe (a clip
//    smaller than one frame plus the next start code would otherwise never show its format).
bool SessionWorker::idleFlushDue(std::chrono::steady_clock::time_point now) {
  const bool decoding = in<Decoding>(phase_) || (in<Starting>(phase_) && probeFailed_);
  const bool holding = packetizer_.holdsBytes() || loop_.sentSinceDrain();
  const bool undoable = loop_.canReplay() || loop_.lastSentSeq() == 0;
  const bool flushDecoder = decoding && holding && undoable && loop_.queued() == 0;
  const bool finishParser = in<Starting>(phase_) && !probeFailed_ && packetizer_.holdsBytes();
  if (drain_ || !decoded_.empty() || !input_.empty() || packetizer_.parsing() ||
      !(flushDecoder || finishParser)) {
    idleSince_.reset();
    return false;
  }
  if (!idleSince_) idleSince_ = now;
  if (now < *idleSince_ + kIdleFlush) {
    wakeAt_ = *idleSince_ + kIdleFlush;
    return false;
  }
  idleSince_.reset();
  std::optional<ParsedPacket> last = packetizer_.finish(engine_->context());
  if (flushDecoder) {
    SPDLOG_LOGGER_DEBUG(&logs::codecs(), "{}: idle; draining held pictures", engine_->name());
    drain_ = DrainKind::kIdle;
    if (last) loop_.push(std::move(*last));
    loop_.startDrain(/*keepQueued=*/false);
    return true;
  }
  if (last) {
    if (!probed_) probed_ = engine_->probePacket(*last->packet);
    loop_.push(std::move(*last));
  }
  return true;
}

// Once failed, input is consumed unread and a flush completes at once (the guest must not be
// left in its drain state).
bool SessionWorker::failedStep(std::unique_lock<std::mutex>& lock) {
  if (loopNeedsReset_) {
    loopNeedsReset_ = false;
    std::deque<AvFramePtr> dropped = std::exchange(decoded_, {});
    lock.unlock();
    dropped.clear();
    loop_.reset();
    lock.lock();
    return true;
  }
  if (input_.empty() || drain_) return false;
  QueuedInput input = std::move(input_.front());
  input_.pop_front();
  if (input.flush) {
    drain_ = DrainKind::kFlush;
  } else {
    postLocked(InputDone{input.chunk.id});
  }
  return true;
}

}  // namespace vdec::codecs
