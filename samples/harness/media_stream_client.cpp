// SPDX-License-Identifier: MIT
// MediaStreamClient: a V4L2 stateful decoder client over one virtio-media session.
#include "samples/harness/media_stream_client.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vdec/base/logging.h"
#include "vdec/base/wire.h"
#include "vdec/protocol/virtio_video.h"

namespace vdec::harness {
namespace {

constexpr uint32_t kOutput = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;    // bitstream
constexpr uint32_t kCapture = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;  // frames
constexpr uint64_t kMinInputBytes = 1ull << 20;
// After a LAST buffer that may answer STOP: how long to wait for the EOS event (drain done) or a
// SOURCE_CHANGE (a resolution change) that the device sends right after it, in another event
// buffer. Only a device that sends neither makes the client wait this long.
constexpr std::chrono::milliseconds kTrailingEvents{1000};
// An ioctl answered EIO: how long the ERROR event of the failed session may take to arrive.
constexpr std::chrono::milliseconds kErrorEventWait{2000};

}  // namespace

MediaStreamClient::MediaStreamClient(MediaDriver& driver, const DecodeOptions& options)
    : driver_(driver), options_(options), memory_(v4l2MemoryFor(options.memory)) {}

MediaStreamClient::~MediaStreamClient() {
  for (const auto& buffer : outputs_) releaseMediaBuffer(driver_, buffer);
  for (const auto& buffer : inputs_) releaseMediaBuffer(driver_, buffer);
}

Result<DecodeSummary> MediaStreamClient::run(const BitstreamReader& input, FrameSink& sink) {
  summary_ = DecodeSummary{};
  const auto start = std::chrono::steady_clock::now();
  Status status = openSession(input);
  if (status) status = decodeLoop(input, sink);
  const auto end = std::chrono::steady_clock::now();
  Status closed = closeSession();
  if (!status) return makeError(status.error());
  VDEC_TRY(closed);
  summary_.frames = sink.frames();
  summary_.seconds = std::chrono::duration<double>(end - start).count();
  summary_.fps = summary_.seconds > 0 ? double(summary_.frames) / summary_.seconds : 0;
  summary_.wholeMd5 = sink.wholeMd5();
  summary_.layout = layout_;
  return summary_;
}

// Initialization (dev-decoder.rst "Initialization", steps 1-4).
Status MediaStreamClient::openSession(const BitstreamReader& input) {
  VDEC_ASSIGN_OR_RETURN(uint32_t id, driver_.open());
  session_.emplace(driver_, id);
  MediaSession& s = *session_;

  uint64_t inputSize = pageAlign(std::max<uint64_t>(input.maxUnitSize(), 1));
  if (input.units().size() > 1 || !input.isByteStream())
    inputSize = std::max(inputSize, kMinInputBytes);
  v4l2_format format{};
  format.type = kOutput;
  format.fmt.pix_mp.pixelformat = v4l2CodedFourcc(input.codec());
  format.fmt.pix_mp.num_planes = 1;
  format.fmt.pix_mp.plane_fmt[0].sizeimage = static_cast<uint32_t>(inputSize);
  VDEC_TRY(s.sFmt(format));
  if (format.fmt.pix_mp.pixelformat != v4l2CodedFourcc(input.codec()))
    return makeError(ErrorCode::kUnsupported, "device kept OUTPUT format {:#x}, wanted {}",
                     uint32_t{format.fmt.pix_mp.pixelformat},
                     codecs::codedFormatName(input.codec()));
  inputSize = std::max<uint64_t>(inputSize, format.fmt.pix_mp.plane_fmt[0].sizeimage);

  VDEC_ASSIGN_OR_RETURN(auto granted, s.reqbufs(kOutput, memory_, options_.inputBuffers));
  if (granted.count == 0)
    return makeError(ErrorCode::kBackendFailure, "REQBUFS(OUTPUT) granted no buffers");
  for (uint32_t i = 0; i < granted.count; ++i) {
    MediaBuffer& buffer = inputs_.emplace_back();
    buffer.index = i;
    VDEC_TRY(allocateMediaBuffer(driver_, options_.memory, inputSize, buffer));
  }
  VDEC_TRY(s.subscribe(V4L2_EVENT_SOURCE_CHANGE));
  VDEC_TRY(s.subscribe(V4L2_EVENT_EOS));
  VDEC_TRY(s.streamOn(kOutput));
  outputStreaming_ = true;
  return okStatus();
}

Status MediaStreamClient::feedInputs(const BitstreamReader& input) {
  const auto& units = input.units();
  for (MediaBuffer& buffer : inputs_) {
    if (stopped_ || nextUnit_ >= units.size()) break;
    if (buffer.queued) continue;
    const BitstreamUnit& unit = units[nextUnit_];
    if (unit.data.size() > buffer.size)
      return makeError(ErrorCode::kInvalidParameter, "unit {} ({} bytes) exceeds input buffer",
                       nextUnit_, unit.data.size());
    writeMediaBuffer(driver_, buffer, unit.data);
    auto request = mediaQbufRequest(buffer, kOutput, memory_,
                                    static_cast<uint32_t>(unit.data.size()), unit.timestamp / 1000);
    VDEC_TRY(session_->qbuf(request));
    buffer.queued = true;
    ++nextUnit_;
  }
  return okStatus();
}

Status MediaStreamClient::decodeLoop(const BitstreamReader& input, FrameSink& sink) {
  for (;;) {
    VDEC_TRY(unlessFailed(feedInputs(input), sink));
    if (stopped_) return okStatus();
    // Drain (dev-decoder.rst "Drain"): STOP once every unit is queued and CAPTURE streams.
    if (nextUnit_ == input.units().size() && captureStreaming_ && !stopSent_ &&
        !sourceChangePending_) {
      VDEC_TRY(unlessFailed(session_->decoderCmd(V4L2_DEC_CMD_STOP), sink));
      if (stopped_) return okStatus();
      stopSent_ = true;
    }
    auto events = session_->waitEvents(options_.idleTimeout);
    if (!events || events->empty())
      return makeError(ErrorCode::kBackendFailure, "no event from the device for {} ms ({}){}{}",
                       options_.idleTimeout.count(), pendingDescription(input),
                       events ? "" : ": ", events ? "" : events.error().message);
    for (const MediaEvent& event : *events) VDEC_TRY(unlessFailed(handleEvent(event, sink), sink));
    if (stopped_) return okStatus();
    const auto deadline = std::chrono::steady_clock::now() + kTrailingEvents;
    while (lastSeen_ && stopSent_ && !sourceChangePending_ && !summary_.gotEosEvent &&
           !stopped_ && std::chrono::steady_clock::now() < deadline) {
      auto trailing = session_->waitEvents(kTrailingEvents);
      if (!trailing) break;
      for (const MediaEvent& event : *trailing) VDEC_TRY(handleEvent(event, sink));
    }
    // Dynamic resolution change: once the LAST buffer of the old resolution is out (or at the
    // first SOURCE_CHANGE, before CAPTURE was ever set up; or with no CAPTURE buffer queued,
    // which leaves the device none to mark LAST).
    const bool captureQueued = std::any_of(outputs_.begin(), outputs_.end(),
                                           [](const MediaBuffer& b) { return b.queued; });
    if (sourceChangePending_ && (!captureStreaming_ || lastSeen_ || !captureQueued)) {
      VDEC_TRY(unlessFailed(setupCapture(), sink));
      if (stopped_) return okStatus();
      continue;
    }
    if (lastSeen_ && stopSent_) {
      summary_.gotEos = true;
      return okStatus();
    }
  }
}

// A session whose decoder failed answers every ioctl with EIO, and its ERROR event may still be
// on the way: an EIO is the end of the decode (not a failure) once that event arrives.
Status MediaStreamClient::unlessFailed(Status status, FrameSink& sink) {
  if (status || session_->lastErrno() != EIO) return status;
  const auto deadline = std::chrono::steady_clock::now() + kErrorEventWait;
  while (!stopped_ && std::chrono::steady_clock::now() < deadline) {
    auto events = session_->waitEvents(kErrorEventWait);
    if (!events) break;
    for (const MediaEvent& event : *events) {
      if (event.type == wire::VIRTIO_MEDIA_EVT_ERROR) VDEC_TRY(handleEvent(event, sink));
    }
  }
  return stopped_ ? okStatus() : status;
}

Status MediaStreamClient::handleEvent(const MediaEvent& event, FrameSink& sink) {
  switch (event.type) {
    case wire::VIRTIO_MEDIA_EVT_DQBUF: {
      auto dqbuf = readWire<wire::virtio_media_event_dqbuf>(event.bytes);
      if (!dqbuf) {
        logs::harness().warn("session {}: DQBUF event of {} bytes dropped", event.sessionId,
                             event.bytes.size());
        return okStatus();
      }
      return handleDqbuf(*dqbuf, sink);
    }
    case wire::VIRTIO_MEDIA_EVT_EVENT: {
      auto ev = readWire<wire::virtio_media_event_event>(event.bytes);
      if (!ev) return okStatus();
      if (ev->event.type == V4L2_EVENT_SOURCE_CHANGE) {
        v4l2_event_src_change change{};
        std::memcpy(&change, ev->event.u, sizeof(change));
        if (change.changes & V4L2_EVENT_SRC_CH_RESOLUTION) {
          sourceChangePending_ = true;
          ++summary_.resolutionChanges;
        }
      } else if (ev->event.type == V4L2_EVENT_EOS) {
        summary_.gotEosEvent = true;
      } else {
        logs::harness().warn("session {}: unexpected V4L2 event {}", event.sessionId,
                             ev->event.type);
      }
      return okStatus();
    }
    case wire::VIRTIO_MEDIA_EVT_ERROR: {
      auto error = readWire<wire::virtio_media_event_error>(event.bytes);
      ++summary_.errorEvents;
      stopped_ = true;
      logs::harness().info("session {}: device reported an error ({})", event.sessionId,
                           error ? errnoName(error->errno_value) : "short event");
      return okStatus();
    }
    default:
      logs::harness().warn("session {}: unknown event {}", event.sessionId, event.type);
      return okStatus();
  }
}

Status MediaStreamClient::handleDqbuf(const wire::virtio_media_event_dqbuf& event,
                                      FrameSink& sink) {
  const wire::v4l2_buffer& b = event.buffer;
  const bool capture = b.type == kCapture;
  if (!capture && b.type != kOutput) {
    logs::harness().warn("session {}: DQBUF of buffer type {}", session_->id(), b.type);
    return okStatus();
  }
  auto& buffers = capture ? outputs_ : inputs_;
  if (b.index >= buffers.size() || !buffers[b.index].queued || b.length != 1) {
    logs::harness().debug("session {}: stale DQBUF type {} index {}", session_->id(), b.type,
                          b.index);
    return okStatus();
  }
  MediaBuffer& buffer = buffers[b.index];
  buffer.queued = false;
  if (!capture) {
    if (b.flags & V4L2_BUF_FLAG_ERROR) ++summary_.inputErrors;
    return okStatus();
  }
  const uint32_t bytesUsed = event.planes[0].bytesused;
  if (b.flags & V4L2_BUF_FLAG_ERROR) {
    if (!stopped_) ++summary_.errorFrames;
  } else if (bytesUsed > 0) {
    const uint64_t size = std::min<uint64_t>(buffer.size, layout_.totalSize());
    if (bytesUsed < layout_.totalSize())
      return makeError(ErrorCode::kBackendFailure, "CAPTURE buffer {}: bytesused {} < {}",
                       b.index, bytesUsed, layout_.totalSize());
    auto consumed = sink.consume(mediaBufferBytes(driver_, buffer, size, frameBytes_), layout_);
    if (!consumed)
      return makeError(consumed.error().code, "frame {} in CAPTURE buffer {}: {}", sink.frames(),
                       b.index, consumed.error().message);
  }
  if (b.flags & V4L2_BUF_FLAG_LAST) {
    lastSeen_ = true;  // no more CAPTURE buffers until STREAMOFF/STREAMON or START
    return okStatus();
  }
  if (stopped_ || lastSeen_) return okStatus();
  // Re-queued at once, even when a resolution change is under way whose SOURCE_CHANGE has not
  // reached us yet (as v4l2-ctl and Chromium do): the device must accept an old-size buffer
  // until STREAMOFF(CAPTURE), so a refusal fails the decode.
  return queueCapture(buffer);
}

Status MediaStreamClient::queueCapture(MediaBuffer& buffer) {
  auto request = mediaQbufRequest(buffer, kCapture, memory_, 0, 0);
  VDEC_TRY(session_->qbuf(request));
  buffer.queued = true;
  return okStatus();
}

// "Capture Setup" of dev-decoder.rst, also after a dynamic resolution change.
Status MediaStreamClient::setupCapture() {
  MediaSession& s = *session_;
  VDEC_TRY(stopCapture());
  VDEC_ASSIGN_OR_RETURN(v4l2_format format, s.gFmt(kCapture));
  const uint32_t wanted = v4l2RawFourcc(options_.outputFormat);
  if (format.fmt.pix_mp.pixelformat != wanted) {
    format.fmt.pix_mp.pixelformat = wanted;
    VDEC_TRY(s.sFmt(format));
    if (format.fmt.pix_mp.pixelformat != wanted)
      logs::harness().warn("session {}: device answered CAPTURE format {:#x} for {}", s.id(),
                           uint32_t{format.fmt.pix_mp.pixelformat},
                           buffers::pixelFormatName(options_.outputFormat));
  }
  v4l2_rect visible{};
  if (auto compose = s.gSelection(kCapture, V4L2_SEL_TGT_COMPOSE)) {
    visible = *compose;
  } else {
    logs::harness().warn("session {}: G_SELECTION(COMPOSE): {}", s.id(), compose.error().message);
  }
  VDEC_ASSIGN_OR_RETURN(layout_, layoutFromV4l2(format.fmt.pix_mp, visible));
  uint32_t minBuffers = 0;
  if (auto min = s.gCtrl(V4L2_CID_MIN_BUFFERS_FOR_CAPTURE); min && *min > 0) {
    minBuffers = static_cast<uint32_t>(*min);
  } else if (!min) {
    logs::harness().warn("session {}: G_CTRL(MIN_BUFFERS_FOR_CAPTURE): {}", s.id(),
                         min.error().message);
  }
  const uint32_t count = options_.outputBuffers > 0 ? options_.outputBuffers
                                                    : std::max<uint32_t>(minBuffers + 2, 4);
  VDEC_ASSIGN_OR_RETURN(auto granted, s.reqbufs(kCapture, memory_, count));
  if (granted.count == 0)
    return makeError(ErrorCode::kBackendFailure, "REQBUFS(CAPTURE) granted no buffers");
  const uint64_t size =
      std::max<uint64_t>(format.fmt.pix_mp.plane_fmt[0].sizeimage, layout_.totalSize());
  for (uint32_t i = 0; i < granted.count; ++i) {
    MediaBuffer& buffer = outputs_.emplace_back();
    buffer.index = i;
    VDEC_TRY(allocateMediaBuffer(driver_, options_.memory, size, buffer));
  }
  for (MediaBuffer& buffer : outputs_) VDEC_TRY(queueCapture(buffer));
  VDEC_TRY(s.streamOn(kCapture));
  captureStreaming_ = true;
  sourceChangePending_ = false;
  lastSeen_ = false;
  const buffers::Rect& v = layout_.visible;
  logs::harness().info("session {}: capture {}x{} {} (visible {}x{}+{}+{}), {} x {} bytes in {}",
                       s.id(), layout_.width, layout_.height,
                       buffers::pixelFormatName(layout_.format), v.width, v.height, v.left, v.top,
                       outputs_.size(), size, outputMemoryName(options_.memory));
  return okStatus();
}

// STREAMOFF(CAPTURE) + REQBUFS(CAPTURE, 0), freeing the buffers, if CAPTURE was set up.
Status MediaStreamClient::stopCapture() {
  if (!captureStreaming_ && outputs_.empty()) return okStatus();
  Status first = okStatus();
  if (captureStreaming_) first = session_->streamOff(kCapture);
  captureStreaming_ = false;
  auto freed = session_->reqbufs(kCapture, memory_, 0);
  if (first && !freed) first = makeError(freed.error());
  for (const auto& buffer : outputs_) releaseMediaBuffer(driver_, buffer);
  outputs_.clear();
  return first;
}

// STREAMOFF(CAPTURE), STREAMOFF(OUTPUT), REQBUFS(0) x 2, CLOSE, as v4l2-ctl ends (close()).
Status MediaStreamClient::closeSession() {
  Status first = okStatus();
  if (session_) {
    if (options_.readStats && !stopped_) {
      auto stats = readStats();
      if (stats) {
        summary_.stats = *stats;
      } else if (session_->lastErrno() == EINVAL) {
        summary_.statsUnavailable = stats.error().message;  // an unknown control
      } else {
        first = makeError(stats.error());
      }
    }
    if (!stopped_) {
      // After an ERROR event the device answers every ioctl with an error: only CLOSE is sent.
      Status captured = stopCapture();
      if (first) first = std::move(captured);
      if (outputStreaming_) {
        Status off = session_->streamOff(kOutput);
        if (first) first = std::move(off);
      }
      if (!inputs_.empty()) {
        auto freed = session_->reqbufs(kOutput, memory_, 0);
        if (first && !freed) first = makeError(freed.error());
      }
    }
    Status closed = driver_.close(session_->id());
    if (first) first = std::move(closed);
    session_.reset();
  }
  for (const auto& buffer : outputs_) releaseMediaBuffer(driver_, buffer);
  for (const auto& buffer : inputs_) releaseMediaBuffer(driver_, buffer);
  outputs_.clear();
  inputs_.clear();
  outputStreaming_ = captureStreaming_ = sourceChangePending_ = lastSeen_ = false;
  stopSent_ = stopped_ = false;
  nextUnit_ = 0;
  return first;
}

// The device's statistics: private controls with the virtio-video ids (V4L2_CID_PRIVATE_BASE
// + 1..5).
Result<StreamStats> MediaStreamClient::readStats() {
  StreamStats stats;
  const std::pair<uint32_t, uint32_t*> controls[] = {
      {wire::VDEC_CONTROL_STATS_FRAMES, &stats.frames},
      {wire::VDEC_CONTROL_STATS_BYTES_COPIED_PER_FRAME, &stats.bytesCopiedPerFrame},
      {wire::VDEC_CONTROL_STATS_DIRECT_FRAMES, &stats.directFrames},
      {wire::VDEC_CONTROL_STATS_BOUNCE_FRAMES, &stats.bounceFrames},
      {wire::VDEC_CONTROL_STATS_ERROR_FRAMES, &stats.errorFrames},
  };
  for (const auto& [control, value] : controls) {
    VDEC_ASSIGN_OR_RETURN(int32_t read, session_->gCtrl(control));
    *value = static_cast<uint32_t>(read);
  }
  return stats;
}

std::string MediaStreamClient::pendingDescription(const BitstreamReader& input) const {
  const auto queued = [](const std::vector<MediaBuffer>& buffers) {
    return std::count_if(buffers.begin(), buffers.end(), [](const auto& b) { return b.queued; });
  };
  const char* waiting = !captureStreaming_ ? "waiting for SOURCE_CHANGE"
                        : sourceChangePending_ ? "SOURCE_CHANGE seen, waiting for the LAST buffer"
                        : !stopSent_           ? "waiting for OUTPUT buffers or frames"
                                               : "STOP sent, waiting for the LAST buffer";
  return fmt::format("{}; fed {}/{} units, {} OUTPUT and {}/{} CAPTURE buffers queued", waiting,
                     nextUnit_, input.units().size(), queued(inputs_), queued(outputs_),
                     outputs_.size());
}

}  // namespace vdec::harness
