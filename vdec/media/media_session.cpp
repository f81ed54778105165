// SPDX-License-Identifier: MIT
// MediaSession: dispatch, buffers, streaming and decoding. Formats, selection, controls and
// event subscriptions are in media_session_formats.cpp.
#include "vdec/media/media_session.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "buffers/resource_factory.h"
#include "vdec/base/logging.h"
#include "vdec/media/media_response.h"
#include "vdec/media/media_session_payload.h"

namespace vdec::media {
namespace w = wire;

namespace {

bool samePages(const std::vector<buffers::GuestRange>& a, const std::vector<buffers::GuestRange>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.address.value == y.address.value && x.length == y.length;
  });
}

}  // namespace

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

std::optional<IoctlReply> MediaSession::requestBuffers(uint64_t tag,
                                                       const std::vector<std::byte>& payload) {
  auto req = fromPayload<v4l2_requestbuffers>(payload);
  Queue* queue = queueFor(req.type);
  if (!queue) return error(EINVAL, fmt::format("REQBUFS type {}", req.type));
  if (req.memory != V4L2_MEMORY_USERPTR && req.memory != V4L2_MEMORY_DMABUF) {
    return error(EINVAL, fmt::format("REQBUFS memory {} (MMAP needs a shared memory region)",
                                     req.memory));
  }
  req.capabilities = V4L2_BUF_CAP_SUPPORTS_USERPTR | V4L2_BUF_CAP_SUPPORTS_DMABUF;
  req.flags = 0;
  std::memset(req.reserved, 0, sizeof(req.reserved));
  if (req.count == 0) {
    // An implicit STREAMOFF (the driver drops its pending dequeues), then the buffers go.
    if (queue == &capture_ && capture_.streaming) {
      if (!stopCapture(tag)) {
        streamOffReqbufsZero_ = true;
        return std::nullopt;  // answered with `req` by onOutputCleared()
      }
    }
    if (queue == &output_ && output_.streaming) stopOutput();
    queue->slots.clear();
    queue->type = req.type;
    queue->memory = req.memory;
    return IoctlReply{0, toPayload(req)};
  }
  if (queue->streaming) return error(EBUSY, "REQBUFS on a streaming queue");
  const uint32_t floor = queue == &capture_ ? minCaptureBuffers() : 1;
  req.count = std::clamp(req.count, floor, kMaxBuffers);
  queue->slots.assign(req.count, BufferSlot{});
  queue->type = req.type;
  queue->memory = req.memory;
  if (queue == &capture_ && session_) session_->setGuestBufferCount(req.count);
  return IoctlReply{0, toPayload(req)};
}

IoctlReply MediaSession::createBuffers(const std::vector<std::byte>& payload) {
  auto create = fromPayload<v4l2_create_buffers>(payload);
  Queue* queue = queueFor(create.format.type);
  if (!queue) return error(EINVAL, fmt::format("CREATE_BUFS type {}", create.format.type));
  if (create.memory != V4L2_MEMORY_USERPTR && create.memory != V4L2_MEMORY_DMABUF) {
    return error(EINVAL, "CREATE_BUFS memory (MMAP needs a shared memory region)");
  }
  if (!queue->slots.empty() && create.memory != queue->memory) {
    return error(EINVAL, "CREATE_BUFS memory differs from the queue's buffers");
  }
  create.capabilities = V4L2_BUF_CAP_SUPPORTS_USERPTR | V4L2_BUF_CAP_SUPPORTS_DMABUF;
  create.index = static_cast<uint32_t>(queue->slots.size());
  const uint32_t room = kMaxBuffers - create.index;
  create.count = std::min(create.count, room);
  if (create.count > 0) {
    queue->type = create.format.type;
    queue->memory = create.memory;
    queue->slots.resize(queue->slots.size() + create.count);
    if (queue == &capture_ && session_) {
      session_->setGuestBufferCount(static_cast<uint32_t>(capture_.slots.size()));
    }
  }
  return {0, toPayload(create)};
}

std::vector<std::byte> MediaSession::bufferReply(const MediaBufferPayload& request,
                                                 const Queue& queue, uint32_t index) const {
  const BufferSlot& slot = queue.slots[index];
  w::v4l2_buffer buffer = request.buffer;
  buffer.flags &= ~(V4L2_BUF_FLAG_QUEUED | V4L2_BUF_FLAG_DONE | V4L2_BUF_FLAG_PREPARED);
  if (slot.queued) buffer.flags |= V4L2_BUF_FLAG_QUEUED;
  buffer.flags |= V4L2_BUF_FLAG_TIMESTAMP_COPY;
  buffer.memory = queue.memory;
  std::vector<w::v4l2_plane> planes = request.planes;
  const uint32_t size = queue.type == capture_.type && &queue == &capture_
                            ? static_cast<uint32_t>(captureLayout().totalSize())
                            : coded_.sizeImage;
  if (v4l2::isMultiplanar(buffer.type)) {
    if (!planes.empty() && planes[0].length == 0) planes[0].length = size;
  } else if (buffer.length == 0) {
    buffer.length = size;
  }
  return bufferPayload(buffer, planes, request.objects);
}

IoctlReply MediaSession::queryBuffer(const MediaBufferPayload& payload) {
  const auto& b = payload.buffer;
  Queue* queue = queueFor(b.type);
  if (!queue || b.type != queue->type) return error(EINVAL, fmt::format("QUERYBUF type {}", b.type));
  if (b.index >= queue->slots.size()) return error(EINVAL, fmt::format("QUERYBUF index {}", b.index));
  if (v4l2::isMultiplanar(b.type) && payload.planes.empty()) {
    return error(EINVAL, "QUERYBUF without a plane");
  }
  return {0, bufferReply(payload, *queue, b.index)};
}

Status MediaSession::attachMemory(BufferSlot& slot, uint32_t memory,
                                  const MediaBufferPayload& payload, uint64_t length) {
  if (memory == V4L2_MEMORY_USERPTR) {
    if (payload.sharedPages.empty() || payload.sharedPages[0].empty()) {
      return makeError(ErrorCode::kInvalidParameter, "USERPTR buffer without pages");
    }
    const auto& pages = payload.sharedPages[0];
    if (slot.memory && samePages(slot.pages, pages)) return okStatus();
    auto made = buffers::makeGuestPagesResource(ctx_.memory, pages, ctx_.config.maxResourceBytes);
    if (!made) return makeError(made.error());
    slot.memory = std::move(*made);
    slot.pages = pages;
  } else {
    if (payload.objects.empty()) {
      return makeError(ErrorCode::kInvalidParameter, "DMABUF buffer without an object");
    }
    if (slot.memory && slot.pages.empty() && slot.object == payload.objects[0]) return okStatus();
    if (ctx_.resolver == nullptr) {
      return makeError(ErrorCode::kInvalidOperation,
                       "virtio objects need a front-end with SHARED_OBJECT support");
    }
    auto fd = ctx_.resolver->lookup(payload.objects[0]);
    if (!fd) return makeError(fd.error());
    auto made = buffers::makeObjectResource(std::move(*fd), 0, ctx_.config.maxResourceBytes);
    if (!made) return makeError(made.error());
    slot.memory = std::move(*made);
    slot.pages.clear();
    slot.object = payload.objects[0];
  }
  if (slot.memory->size() < length) {
    return makeError(ErrorCode::kInvalidParameter, "buffer of {} bytes, {} needed",
                     slot.memory->size(), length);
  }
  return okStatus();
}

IoctlReply MediaSession::queueBuffer(const MediaBufferPayload& payload, bool prepareOnly) {
  const auto& b = payload.buffer;
  Queue* queue = queueFor(b.type);
  if (!queue || b.type != queue->type) return error(EINVAL, fmt::format("QBUF type {}", b.type));
  if (b.index >= queue->slots.size()) return error(EINVAL, fmt::format("QBUF index {}", b.index));
  if (b.memory != queue->memory) return error(EINVAL, fmt::format("QBUF memory {}", b.memory));
  const bool multiplanar = v4l2::isMultiplanar(b.type);
  if (multiplanar && payload.planes.size() != 1) {
    return error(EINVAL, fmt::format("QBUF with {} planes (1 expected)", payload.planes.size()));
  }
  BufferSlot& slot = queue->slots[b.index];
  if (slot.queued) return error(EINVAL, fmt::format("buffer {} already queued", b.index));
  const uint32_t length = multiplanar ? payload.planes[0].length : b.length;
  const bool capture = queue == &capture_;
  const uint64_t needed =
      capture ? captureLayout().totalSize()
              : (multiplanar ? payload.planes[0].bytesused : uint64_t{b.bytesused});
  if (needed > length) {
    return error(EINVAL, fmt::format("buffer {}: {} bytes needed, length {}", b.index, needed,
                                     length));
  }
  if (auto status = attachMemory(slot, queue->memory, payload, needed); !status) {
    return error(EINVAL, status.error().message);
  }
  if (prepareOnly) {
    auto reply = bufferReply(payload, *queue, b.index);
    auto* out = reinterpret_cast<w::v4l2_buffer*>(reply.data());
    out->flags |= V4L2_BUF_FLAG_PREPARED;
    return {0, std::move(reply)};
  }
  std::optional<std::vector<uint8_t>> input;
  if (!capture) {
    auto copied = copyInput(slot, payload);
    if (!copied) {
      const uint32_t code = copied.error().code == ErrorCode::kOutOfMemory ? ENOMEM : EINVAL;
      return error(code, copied.error().message);
    }
    input = std::move(*copied);
  }
  slot.buffer = b;
  slot.planes = payload.planes;
  slot.queued = true;
  auto reply = bufferReply(payload, *queue, b.index);
  if (capture) {
    if (lastBufferOwed_) {
      returnLastBuffer();
    } else {
      lendQueuedCaptures();
    }
    return {0, std::move(reply)};
  }
  if (input->empty()) {
    // Nothing to decode: the buffer comes straight back.
    slot.queued = false;
    sendDqbuf(output_, b.index, 0, 0, timestampFromTimeval(b.timestamp_sec, b.timestamp_usec));
    return {0, std::move(reply)};
  }
  const uint32_t seq = nextInputSeq_++;
  slot.inputSeq = seq;
  heldInputs_.push_back({seq, std::move(*input)});
  submitHeldInputs();
  if (failed_) return error(EIO, "the decoder could not start");
  return {0, std::move(reply)};
}

Result<std::vector<uint8_t>> MediaSession::copyInput(BufferSlot& slot,
                                                     const MediaBufferPayload& payload) {
  const auto& b = payload.buffer;
  uint32_t used = b.bytesused;
  uint32_t offset = 0;
  if (v4l2::isMultiplanar(b.type)) {
    used = payload.planes[0].bytesused;
    offset = std::min(payload.planes[0].data_offset, used);
  }
  const uint32_t size = used - offset;
  if (size > ctx_.config.maxBitstreamBytes) {
    return makeError(ErrorCode::kInvalidParameter, "input of {} bytes over the limit", size);
  }
  const uint64_t cost = uint64_t{size} + kInputEntryCost;
  if (pendingInputBytes_ + cost > ctx_.config.maxPendingInputBytes ||
      pendingInputs_.size() >= ctx_.config.maxPendingInputs) {
    return makeError(ErrorCode::kOutOfMemory, "{} inputs ({} bytes) already waiting",
                     pendingInputs_.size(), pendingInputBytes_);
  }
  std::optional<MemoryBudget::Charge> charge = budget_->tryCharge(cost);
  if (!charge) return makeError(ErrorCode::kOutOfMemory, "input over the memory budget");
  std::vector<uint8_t> bytes(size);
  VDEC_TRY(slot.memory->read(offset, std::as_writable_bytes(std::span(bytes))));
  if (size > 0) {
    pendingInputs_.emplace(nextInputSeq_,
                           PendingInput{b.index, timestampFromTimeval(b.timestamp_sec,
                                                                      b.timestamp_usec),
                                        cost, std::move(*charge)});
    pendingInputBytes_ += cost;
  }
  return bytes;
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
  options.niceIncrement = ctx_.config.decoderNice;
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
  for (auto& slot : output_.slots) {
    slot.queued = false;
    slot.inputSeq.reset();
  }
  for (auto& [seq, pending] : pendingInputs_) pending.dropped = true;
  heldInputs_.clear();
  // The copies still in the decoder go with the reset; their entries leave on ResetDone.
  resetBoundary_ = nextInputSeq_;
  if (drain_ == Drain::kDraining) drain_ = Drain::kNone;
  if (session_) {
    session_->reset();
  } else {
    std::erase_if(pendingInputs_, [](const auto& entry) { return true; });
    pendingInputBytes_ = 0;
  }
}

bool MediaSession::stopCapture(std::optional<uint64_t> tag) {
  capture_.streaming = false;
  lastBufferOwed_ = false;
  if (drain_ == Drain::kStopped) drain_ = Drain::kNone;
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

void MediaSession::returnLastBuffer() {
  for (uint32_t i = 0; i < capture_.slots.size(); ++i) {
    BufferSlot& slot = capture_.slots[i];
    if (!slot.queued || slot.lent) continue;
    slot.queued = false;
    lastBufferOwed_ = false;
    sendDqbuf(capture_, i, 0, V4L2_BUF_FLAG_LAST, 0);
    if (sourceChangeAfterLast_) {
      sourceChangeAfterLast_ = false;
      sendEvent(V4L2_EVENT_SOURCE_CHANGE, V4L2_EVENT_SRC_CH_RESOLUTION);
    }
    return;
  }
  lastBufferOwed_ = true;
}

void MediaSession::sendDqbuf(const Queue& queue, uint32_t index, uint32_t bytesUsed,
                             uint32_t flags, uint64_t timestamp) {
  const BufferSlot& slot = queue.slots[index];
  w::v4l2_buffer buffer = slot.buffer;
  buffer.index = index;
  buffer.type = queue.type;
  buffer.memory = queue.memory;
  buffer.flags = (flags | V4L2_BUF_FLAG_TIMESTAMP_COPY) & ~V4L2_BUF_FLAG_QUEUED;
  buffer.field = V4L2_FIELD_NONE;
  buffer.sequence = &queue == &capture_ ? captureSequence_++ : outputSequence_++;
  timevalFromTimestamp(timestamp, buffer.timestamp_sec, buffer.timestamp_usec);
  std::vector<w::v4l2_plane> planes = slot.planes;
  if (v4l2::isMultiplanar(queue.type)) {
    buffer.length = static_cast<uint32_t>(planes.size());
    if (!planes.empty()) planes[0].bytesused = bytesUsed;
  } else {
    buffer.bytesused = bytesUsed;
  }
  ctx_.queueEvent(mediaDqbufEvent(id_, buffer, planes));
}

void MediaSession::sendEvent(uint32_t type, uint32_t changes) {
  if (type == V4L2_EVENT_SOURCE_CHANGE && !subscribedSourceChange_) return;
  if (type == V4L2_EVENT_EOS && !subscribedEos_) return;
  w::v4l2_event event{};
  event.type = type;
  std::memcpy(event.u, &changes, sizeof(changes));  // v4l2_event_src_change.changes
  event.sequence = eventSequence_++;
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  event.timestamp_sec = now.tv_sec;
  event.timestamp_nsec = now.tv_nsec;
  ctx_.queueEvent(mediaEventEvent(id_, event));
}

void MediaSession::fail(const std::string& why) {
  if (failed_) return;
  logs::device().error("media session {}: failed: {}", id_, why);
  failed_ = true;
  ctx_.queueEvent(mediaErrorEvent(id_, EIO));
}

void MediaSession::onInputDone(uint32_t seq) {
  auto it = pendingInputs_.find(seq);
  if (it == pendingInputs_.end()) return;
  if (!it->second.dropped) {
    const uint32_t index = it->second.index;
    if (index < output_.slots.size() && output_.slots[index].inputSeq == seq) {
      BufferSlot& slot = output_.slots[index];
      slot.queued = false;
      slot.inputSeq.reset();
      const uint32_t used = v4l2::isMultiplanar(output_.type) && !slot.planes.empty()
                                ? slot.planes[0].bytesused
                                : slot.buffer.bytesused;
      sendDqbuf(output_, index, used, 0, it->second.timestamp);
    }
  }
  pendingInputBytes_ -= it->second.cost;
  pendingInputs_.erase(it);
}

void MediaSession::onFormatChanged(const codecs::StreamFormat& format) {
  streamFormat_ = format;
  logs::device().info("media session {}: stream {}x{} (visible {}x{}), {} CAPTURE buffers", id_,
                      format.codedWidth, format.codedHeight, format.visible.width,
                      format.visible.height, minCaptureBuffers());
  if (!capture_.streaming) {
    sendEvent(V4L2_EVENT_SOURCE_CHANGE, V4L2_EVENT_SRC_CH_RESOLUTION);
    return;
  }
  // CAPTURE runs with the old layout: its pictures are all out (events come in order); an
  // empty LAST buffer ends them, then SOURCE_CHANGE (dev-decoder.rst, dynamic resolution change).
  sourceChangeAfterLast_ = true;
  const bool anyLent = std::any_of(capture_.slots.begin(), capture_.slots.end(),
                                   [](const BufferSlot& s) { return s.lent; });
  if (anyLent) {
    resolutionClearPending_ = true;
    session_->clearOutput();  // onOutputCleared() returns one of them with LAST
    return;
  }
  returnLastBuffer();
}

void MediaSession::onOutputCleared(const std::vector<uint32_t>& ids) {
  for (uint32_t id : ids) {
    if (id < capture_.slots.size()) capture_.slots[id].lent = false;
  }
  if (streamOffTag_) {
    for (auto& slot : capture_.slots) slot.queued = false;
    std::vector<std::byte> payload;
    if (streamOffReqbufsZero_) {
      capture_.slots.clear();
      v4l2_requestbuffers req{};
      req.type = capture_.type;
      req.memory = capture_.memory;
      req.capabilities = V4L2_BUF_CAP_SUPPORTS_USERPTR | V4L2_BUF_CAP_SUPPORTS_DMABUF;
      payload = toPayload(req);
    }
    ctx_.complete(*std::exchange(streamOffTag_, std::nullopt), mediaIoctlResponse(0, payload));
    streamOffReqbufsZero_ = false;
    return;
  }
  if (resolutionClearPending_) {
    resolutionClearPending_ = false;
    returnLastBuffer();
  }
}

void MediaSession::onPicture(const codecs::PictureReady& picture) {
  if (picture.resourceId >= capture_.slots.size()) return;
  BufferSlot& slot = capture_.slots[picture.resourceId];
  if (!slot.lent) return;
  slot.lent = false;
  slot.queued = false;
  if (picture.endOfStream) {
    drain_ = Drain::kStopped;
    sendDqbuf(capture_, picture.resourceId, 0, V4L2_BUF_FLAG_LAST, picture.timestamp);
    sendEvent(V4L2_EVENT_EOS, 0);
    logs::device().info("media session {}: drained", id_);
    return;
  }
  const auto size = static_cast<uint32_t>(sessionLayout_ ? sessionLayout_->totalSize() : 0);
  sendDqbuf(capture_, picture.resourceId, size, picture.error ? V4L2_BUF_FLAG_ERROR : 0,
            picture.timestamp);
  ++ctx_.statistics.frames;
  ctx_.statistics.bytesCopied += picture.bytesCopied;
}

void MediaSession::processSessionEvents() {
  if (!session_) return;
  for (auto& event : session_->takeEvents()) {
    std::visit(
        [&](auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, codecs::InputDone>) {
            onInputDone(e.inputId);
          } else if constexpr (std::is_same_v<T, codecs::FormatChanged>) {
            onFormatChanged(e.format);
          } else if constexpr (std::is_same_v<T, codecs::PictureReady>) {
            onPicture(e);
          } else if constexpr (std::is_same_v<T, codecs::FlushDone>) {
            // The EOS picture carried FLAG_LAST already.
          } else if constexpr (std::is_same_v<T, codecs::ResetDone>) {
            for (auto it = pendingInputs_.begin();
                 it != pendingInputs_.end() && it->first < resetBoundary_;) {
              pendingInputBytes_ -= it->second.cost;
              it = pendingInputs_.erase(it);
            }
          } else if constexpr (std::is_same_v<T, codecs::OutputCleared>) {
            onOutputCleared(e.resourceIds);
          } else if constexpr (std::is_same_v<T, codecs::StreamError>) {
            fail(e.message);
          }
        },
        event);
    if (failed_) break;
  }
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
