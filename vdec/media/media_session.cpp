// SPDX-License-Identifier: MIT
// MediaSession: dispatch, streaming, draining and the decoder session. Buffers are in
// media_session_buffers.cpp, decoder events in media_session_events.cpp, formats, selection,
// controls and event subscriptions in media_session_formats.cpp.
#include "vdec/media/media_session.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vdec/base/logging.h"
#include "vdec/media/media_response.h"
#include "vdec/media/media_session_payload.h"

namespace vdec::media {
namespace w = wire;

MediaSession::MediaSession(const MediaSessionContext& context, uint32_t id)
    : ctx_(context),
      id_(id),
      budget_(MemoryBudget::create(context.config.maxStreamMemory, context.memoryBudget)) {
  coded_ = {V4L2_PIX_FMT_H264, 640, 480, 1u << 20};
  output_.type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
  capture_.type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
  logs::device().info("media session {}: opened", id_);
}

MediaSession::~MediaSession() { session_.reset(); }

IoctlReply MediaSession::error(uint32_t errnoValue, const std::string& why) {
  const std::string cause = fmt::format("errno {}", errnoValue);
  if (auto count = logLimiter_.admit(cause)) {
    logs::device().info("media session {}: ioctl failed ({}): {}{}", id_, std::strerror(errnoValue),
                        why, *count > 1 ? fmt::format(" [{} times in the last second]", *count) : "");
  }
  ++ctx_.statistics.errorResponses;
  return {errnoValue, {}};
}

std::optional<IoctlReply> MediaSession::handleIoctl(uint64_t tag, const IoctlCmd& ioctl) {
  if (failed_) return error(EIO, "the session failed");
  if (streamOffTag_) return error(EBUSY, "a STREAMOFF is still waiting for the decoder");
  const auto* fixed = std::get_if<FixedPayload>(&ioctl.payload);
  const auto* buffer = std::get_if<MediaBufferPayload>(&ioctl.payload);
  const auto* ext = std::get_if<MediaExtControls>(&ioctl.payload);
  static const FixedPayload kNone;
  const FixedPayload& p = fixed ? *fixed : kNone;
  switch (ioctl.ioctl->code) {
    case 2: return enumFormat(p);
    case 4: return getFormat(p);
    case 5: return setFormat(p, true);
    case 64: return setFormat(p, false);
    case 74: return enumFrameSizes(p);
    case 8: return requestBuffers(tag, p);
    case 92: return createBuffers(p);
    case 9: return buffer ? queryBuffer(*buffer) : error(EINVAL, "no buffer");
    case 15: return buffer ? queueBuffer(*buffer, false) : error(EINVAL, "no buffer");
    case 93: return buffer ? queueBuffer(*buffer, true) : error(EINVAL, "no buffer");
    case 18: return stream(tag, p, true);
    case 19: return stream(tag, p, false);
    case 96: return decoderCommand(p, false);
    case 97: return decoderCommand(p, true);
    case 90: return subscribe(p, true);
    case 91: return subscribe(p, false);
    case 94: return selection(p, false);
    case 95: return selection(p, true);
    case 36: return queryControl(p);
    case 103: return queryExtControl(p);
    case 37: return queryMenu(p);
    case 27: return getControl(p);
    case 28: return error(EACCES, "no writable control");
    case 71: return ext ? extControls(*ext, true) : error(EINVAL, "no controls");
    case 72:
    case 73: return ext ? extControls(*ext, false) : error(EINVAL, "no controls");
    case 21:
    case 22: return streamParams(p);
    default: return error(ENOTTY, fmt::format("{} not implemented", ioctl.ioctl->name));
  }
}

MediaSession::Queue* MediaSession::queueFor(uint32_t type) {
  if (isOutputType(type)) return &output_;
  if (isCaptureType(type)) return &capture_;
  return nullptr;
}

Status MediaSession::ensureSession() {
  if (session_) return okStatus();
  if (!decoderSlot_) decoderSlot_ = ctx_.decoderSlots.tryAcquire();
  if (!decoderSlot_) {
    return makeError(ErrorCode::kOutOfMemory, "{} sessions are already decoding",
                     ctx_.decoderSlots.held());
  }
  auto format = codedFormatFromFourcc(coded_.fourcc);
  if (!format) return makeError(ErrorCode::kInvalidParameter, "no coded format");
  codecs::SessionOptions options;
  options.outputFormat = pixelFormat_;
  options.threads = ctx_.config.decoderThreads;
  options.threadBudget = ctx_.threadBudget;
  options.priority = ctx_.config.decoderPriority;
  options.forceBounce = ctx_.config.forceBounce;
  options.notify = ctx_.wakeDevice;
  options.memoryBudget = budget_;
  VDEC_ASSIGN_OR_RETURN(session_, ctx_.backend.createSession(*format, options));
  logs::device().info("media session {}: {} decoder started ({} backend)", id_,
                      codecs::codedFormatName(*format), ctx_.backend.name());
  return okStatus();
}

void MediaSession::submitHeldInputs() {
  if (!output_.streaming || drain_ != Drain::kNone || heldInputs_.empty()) return;
  if (auto status = ensureSession(); !status) return fail(status.error().message);
  while (!heldInputs_.empty()) {
    HeldInput held = std::move(heldInputs_.front());
    heldInputs_.pop_front();
    auto pending = pendingInputs_.find(held.seq);
    if (pending == pendingInputs_.end()) continue;
    session_->decode(held.seq, pending->second.timestamp, std::move(held.bytes));
  }
}

void MediaSession::applyLayoutAndLend() {
  if (!session_ || !streamFormat_ || !capture_.streaming) return;
  const buffers::FrameLayout layout = captureLayout();
  if (!sessionLayout_ || *sessionLayout_ != layout) {
    sessionLayout_ = layout;
    session_->setGuestBufferCount(static_cast<uint32_t>(capture_.slots.size()));
    session_->setOutputLayout(layout);
    logs::device().info("media session {}: CAPTURE {} {}x{} (visible {}x{}), {} bytes", id_,
                        buffers::pixelFormatName(layout.format), layout.width, layout.height,
                        layout.visible.width, layout.visible.height, layout.totalSize());
  }
  lendQueuedCaptures();
}

void MediaSession::lendQueuedCaptures() {
  if (!session_ || !sessionLayout_ || !capture_.streaming || resolutionClearPending_ ||
      *sessionLayout_ != captureLayout()) {
    return;
  }
  for (uint32_t i = 0; i < capture_.slots.size(); ++i) {
    BufferSlot& slot = capture_.slots[i];
    if (slot.queued && !slot.lent) {
      slot.lent = true;
      session_->queueOutput({i, slot.memory});
    }
  }
}

std::optional<IoctlReply> MediaSession::stream(uint64_t tag, const std::vector<std::byte>& payload,
                                               bool on) {
  uint32_t type = 0;
  std::memcpy(&type, payload.data(), sizeof(type));
  Queue* queue = queueFor(type);
  if (!queue || type != queue->type) return error(EINVAL, fmt::format("STREAM type {}", type));
  if (on) {
    if (queue->slots.empty()) return error(EINVAL, "STREAMON without buffers");
    if (queue->streaming) return IoctlReply{};
    queue->streaming = true;
    if (queue == &output_) {
      submitHeldInputs();
      if (failed_) return error(EIO, "the decoder could not start");
    } else {
      if (drain_ == Drain::kStopped) drain_ = Drain::kNone;
      applyLayoutAndLend();
    }
    return IoctlReply{};
  }
  if (queue == &output_) {
    stopOutput();
    return IoctlReply{};
  }
  if (!stopCapture(tag)) return std::nullopt;
  return IoctlReply{};
}

void MediaSession::stopOutput() {
  output_.streaming = false;
  dropOutputBuffers();
  if (drain_ == Drain::kDraining) drain_ = Drain::kNone;
  // The copies already in the decoder go with the reset; their entries leave on ResetDone.
  resetBoundary_ = nextInputSeq_;
  if (session_) session_->reset();
}

void MediaSession::dropOutputBuffers() {
  for (auto& slot : output_.slots) {
    slot.queued = false;
    slot.inputSeq.reset();
  }
  for (auto& [seq, pending] : pendingInputs_) pending.dropped = true;
  // Copies not handed to the decoder yet go now, with their entries.
  for (const HeldInput& held : heldInputs_) {
    if (auto it = pendingInputs_.find(held.seq); it != pendingInputs_.end()) {
      pendingInputBytes_ -= it->second.cost;
      pendingInputs_.erase(it);
    }
  }
  heldInputs_.clear();
}

bool MediaSession::stopCapture(std::optional<uint64_t> tag) {
  capture_.streaming = false;
  lastBufferOwed_ = false;
  if (drain_ == Drain::kStopped) {
    drain_ = Drain::kNone;  // STREAMOFF(CAPTURE) ends the stopped state: held input decodes
    submitHeldInputs();
  }
  const bool anyLent = std::any_of(capture_.slots.begin(), capture_.slots.end(),
                                   [](const BufferSlot& s) { return s.lent; });
  for (auto& slot : capture_.slots) {
    if (!slot.lent) slot.queued = false;
  }
  if (!anyLent || !session_) return true;
  // Answered once the decoder writes none of them any more (onOutputCleared).
  streamOffTag_ = tag;
  resolutionClearPending_ = false;
  session_->clearOutput();
  return false;
}

IoctlReply MediaSession::decoderCommand(const std::vector<std::byte>& payload, bool tryOnly) {
  auto cmd = fromPayload<v4l2_decoder_cmd>(payload);
  if (cmd.cmd != V4L2_DEC_CMD_STOP && cmd.cmd != V4L2_DEC_CMD_START) {
    return error(EINVAL, fmt::format("decoder command {}", cmd.cmd));
  }
  if (cmd.cmd == V4L2_DEC_CMD_STOP) {
    if (cmd.flags != 0) return error(EINVAL, "STOP flags");
    cmd.stop.pts = 0;
  } else {
    if (cmd.flags != 0) return error(EINVAL, "START flags");
    cmd.start.speed = 0;
    cmd.start.format = V4L2_DEC_START_FMT_NONE;
  }
  if (tryOnly) return {0, toPayload(cmd)};
  if (drain_ == Drain::kDraining) return error(EBUSY, "a drain is in progress");
  if (cmd.cmd == V4L2_DEC_CMD_START) {
    if (drain_ == Drain::kStopped) drain_ = Drain::kNone;
    submitHeldInputs();
    return {0, toPayload(cmd)};
  }
  // STOP: with nothing streaming there is nothing to drain (dev-decoder.rst: no effect).
  if (!output_.streaming || !capture_.streaming) {
    if (session_ && output_.streaming) {
      drain_ = Drain::kDraining;
      session_->flush();  // completes once CAPTURE runs
    }
    return {0, toPayload(cmd)};
  }
  if (!session_) {
    drain_ = Drain::kStopped;
    returnLastBuffer();
    return {0, toPayload(cmd)};
  }
  drain_ = Drain::kDraining;
  session_->flush();
  return {0, toPayload(cmd)};
}

void MediaSession::close() {
  session_.reset();  // joins the decoding thread: no more writes into guest buffers
  if (streamOffTag_) {
    ctx_.complete(*std::exchange(streamOffTag_, std::nullopt), mediaIoctlResponse(0, {}));
  }
  pendingInputs_.clear();
  pendingInputBytes_ = 0;
  logs::device().info("media session {}: closed", id_);
}

}  // namespace vdec::media
