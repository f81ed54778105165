// SPDX-License-Identifier: MIT
// MediaSession: buffers (REQBUFS, CREATE_BUFS, QUERYBUF, QBUF, PREPARE_BUF) and their memory.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "buffers/resource_factory.h"
#include "vdec/base/logging.h"
#include "vdec/media/media_session.h"
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
    if (queue == &output_) {
      if (output_.streaming) stopOutput();
      dropOutputBuffers();
    }
    queue->slots.clear();
    queue->type = req.type;
    queue->memory = req.memory;
    return IoctlReply{0, toPayload(req)};
  }
  if (queue->streaming) return error(EBUSY, "REQBUFS on a streaming queue");
  if (queue == &output_) dropOutputBuffers();  // queued, not streaming: held copies go
  const uint32_t floor = queue == &capture_ ? minCaptureBuffers() : 1;
  req.count = std::clamp(req.count, floor, kMaxBuffers);
  queue->slots.clear();
  queue->slots.resize(req.count);
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
    if (!slot.memory || !samePages(slot.pages, pages)) {
      // The entry table is charged before anything is built from it (as Stream does).
      auto charge = budget_->tryCharge(kBufferCost + pages.size() * kBufferEntryCost);
      if (!charge) return makeError(ErrorCode::kOutOfMemory, "buffer over the memory budget");
      auto made =
          buffers::makeGuestPagesResource(ctx_.memory, pages, ctx_.config.maxResourceBytes);
      if (!made) return makeError(made.error());
      slot.memory = std::move(*made);
      slot.charge = std::move(*charge);
      slot.pages = pages;
    }
  } else {
    if (payload.objects.empty()) {
      return makeError(ErrorCode::kInvalidParameter, "DMABUF buffer without an object");
    }
    if (!slot.memory || !slot.pages.empty() || slot.object != payload.objects[0]) {
      if (ctx_.resolver == nullptr) {
        return makeError(ErrorCode::kInvalidOperation,
                         "virtio objects need a front-end with SHARED_OBJECT support");
      }
      auto charge = budget_->tryCharge(kBufferCost + kBufferEntryCost);
      if (!charge) return makeError(ErrorCode::kOutOfMemory, "buffer over the memory budget");
      auto fd = ctx_.resolver->lookup(payload.objects[0]);
      if (!fd) return makeError(fd.error());
      auto made = buffers::makeObjectResource(std::move(*fd), 0, ctx_.config.maxResourceBytes);
      if (!made) return makeError(made.error());
      slot.memory = std::move(*made);
      slot.charge = std::move(*charge);
      slot.pages.clear();
      slot.object = payload.objects[0];
    }
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
  // dev-decoder.rst, dynamic resolution change: a streaming CAPTURE queue keeps the format it
  // streams with until the client sets it up again (STREAMOFF), so a buffer re-queued before
  // then is checked against that layout, not the new one. lendQueuedCaptures() lends nothing
  // while the layouts differ: such a buffer becomes the empty LAST buffer or is held until
  // STREAMOFF(CAPTURE) drops it; the decoder never writes a picture of the new size into it.
  const uint64_t needed =
      capture ? (capture_.streaming && sessionLayout_ ? sessionLayout_->totalSize()
                                                      : captureLayout().totalSize())
              : (multiplanar ? payload.planes[0].bytesused : uint64_t{b.bytesused});
  if (needed > length) {
    return error(EINVAL, fmt::format("buffer {}: {} bytes needed, length {}", b.index, needed,
                                     length));
  }
  if (auto status = attachMemory(slot, queue->memory, payload, needed); !status) {
    return error(status.error().code == ErrorCode::kOutOfMemory ? ENOMEM : EINVAL,
                 status.error().message);
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

}  // namespace vdec::media
