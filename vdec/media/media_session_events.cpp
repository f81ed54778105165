// SPDX-License-Identifier: MIT
// MediaSession: what the decoder reports (inputs consumed, formats, pictures, clears, errors)
// turned into DQBUF, EVENT and ERROR events.
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vdec/base/logging.h"
#include "vdec/media/media_response.h"
#include "vdec/media/media_session.h"
#include "vdec/media/media_session_payload.h"

namespace vdec::media {
namespace w = wire;

void MediaSession::returnLastBuffer() {
  for (uint32_t i = 0; i < capture_.slots.size(); ++i) {
    BufferSlot& slot = capture_.slots[i];
    if (!slot.queued || slot.lent) continue;
    slot.queued = false;
    lastBufferOwed_ = false;
    sendDqbuf(capture_, i, 0, V4L2_BUF_FLAG_LAST, 0);
    return;
  }
  lastBufferOwed_ = true;  // the next QBUF(CAPTURE) comes back at once with LAST
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
  // dev-decoder.rst, dynamic resolution change: first the event (queries answer the new
  // format from now on), then the pictures from before the change, the last of them marked
  // LAST. The decoder delivered those already (events come in order), so an empty LAST buffer
  // follows when CAPTURE runs with the old layout.
  sendEvent(V4L2_EVENT_SOURCE_CHANGE, V4L2_EVENT_SRC_CH_RESOLUTION);
  if (!capture_.streaming) return;
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
  statistics_.count(picture);
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

}  // namespace vdec::media
