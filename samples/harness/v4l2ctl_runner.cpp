// SPDX-License-Identifier: MIT
// V4l2CtlRunner: a decode driven as v4l2-ctl 1.22 drives it through the ARCVM guest driver.
#include "samples/harness/v4l2ctl_runner.h"

#include <algorithm>
#include <utility>

#include "samples/harness/frame_converter.h"
#include "vdec/base/logging.h"

namespace vdec::harness {

namespace {

using Clock = V4l2CtlFlow::Clock;
using wire::VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
using wire::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;

// Resource ids come from one device-wide pool in the guest; keep clear of the other runner's.
constexpr uint32_t kFirstOutputId = 201;
constexpr uint32_t kFirstInputId = 301;
constexpr uint32_t kDefaultCaptureBuffers = 4;  // v4l2-ctl --stream-mmap without a count

}  // namespace

V4l2CtlRunner::V4l2CtlRunner(VideoDriver& driver, const DecodeOptions& options)
    : driver_(driver), options_(options) {}

V4l2CtlRunner::~V4l2CtlRunner() {
  releaseOutputs();
  for (const InputBuffer& buffer : inputs_) driver_.ram().free(buffer.range);
}

Result<DecodeSummary> V4l2CtlRunner::run(const BitstreamReader& input, FrameSink& sink) {
  summary_ = DecodeSummary{};
  const auto start = Clock::now();
  Status status = open(input);
  if (status) status = loop(sink);
  const auto end = Clock::now();
  Status closed = close();
  if (!status) return makeError(status.error());
  VDEC_TRY(closed);
  summary_.frames = sink.frames();
  summary_.seconds = std::chrono::duration<double>(end - start).count();
  summary_.fps = summary_.seconds > 0 ? double(summary_.frames) / summary_.seconds : 0;
  summary_.wholeMd5 = sink.wholeMd5();
  summary_.layout = layout_;
  return summary_;
}

// open(), --set-fmt-video-out pixelformat=<codec> (S_FMT(OUTPUT) of G_FMT's values),
// --set-fmt-video pixelformat=<raw>, then REQBUFS(OUTPUT, N, MMAP).
Status V4l2CtlRunner::open(const BitstreamReader& input) {
  const uint32_t id = options_.streamId;
  const uint32_t coded = virtioCodedFormat(input.codec());
  VDEC_TRY(withContext(driver_.streamCreate(id, coded), "STREAM_CREATE", id));
  streamOpen_ = true;
  VDEC_TRY(updateParams());
  if (auto profile = driver_.getControl(id, wire::VIRTIO_VIDEO_CONTROL_PROFILE); !profile)
    logs::harness().debug("stream {}: GET_CONTROL(PROFILE) failed: {}", id,
                          profile.error().message);

  // sizeimage stays what the device reported unless asked for (sizeimage=), or unless a frame
  // would not fit (--stream-from-hdr would refuse it; a user then passes a bigger sizeimage).
  wire::virtio_video_params_ext params = inParams_;
  params.base.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
  params.base.format = coded;
  params.base.crop = {};
  uint64_t wanted = options_.inputSizeImage;
  if (!input.isByteStream() && input.maxUnitSize() > inParams_.base.plane_formats[0].plane_size)
    wanted = std::max(wanted, pageAlign(input.maxUnitSize()));
  if (wanted > 0) params.base.plane_formats[0].plane_size = static_cast<uint32_t>(wanted);
  VDEC_TRY(withContext(driver_.setParams(id, params), "SET_PARAMS_EXT(INPUT)", id));
  VDEC_TRY(updateParams());
  if (inParams_.base.format != coded)
    return makeError(ErrorCode::kUnsupported, "device kept input format {:#x}, wanted {:#x} ({})",
                     inParams_.base.format, coded, codecs::codedFormatName(input.codec()));

  params = outParams_;
  params.base.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
  params.base.format = virtioRawFormat(options_.outputFormat);
  params.base.crop = {};
  VDEC_TRY(withContext(driver_.setParams(id, params), "SET_PARAMS_EXT(OUTPUT)", id));
  VDEC_TRY(updateParams());

  // Every OUTPUT buffer is sizeimage long; v4l2-ctl fills each with exactly that many bytes.
  sizeImage_ = inParams_.base.plane_formats[0].plane_size;
  if (sizeImage_ == 0)
    return makeError(ErrorCode::kBackendFailure, "stream {}: device reports sizeimage 0", id);
  VDEC_ASSIGN_OR_RETURN(units_, input.unitsForBuffers(sizeImage_));

  params = inParams_;
  params.base.crop = {};
  params.resource_type = wire::VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
  VDEC_TRY(withContext(driver_.setParams(id, params), "SET_PARAMS_EXT(INPUT, GUEST_PAGES)", id));
  for (uint32_t i = 0; i < options_.inputBuffers; ++i) {
    VDEC_ASSIGN_OR_RETURN(buffers::GuestRange range,
                          driver_.ram().allocContiguous(pageAlign(sizeImage_)));
    inputs_.push_back({kFirstInputId + i, range});
    // vb2-dma-contig: one entry with the plane length, not page-aligned.
    const buffers::GuestRange entry{range.address, sizeImage_};
    VDEC_TRY(withContext(driver_.resourceCreateGuestPages(id, VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                                                          kFirstInputId + i, {entry}),
                         "RESOURCE_CREATE(INPUT)", id));
  }
  logs::harness().info("stream {}: v4l2-ctl client, {} OUTPUT buffers of {} bytes, {} to queue", id,
                       inputs_.size(), sizeImage_, units_.size());
  return okStatus();
}

// stateful_m2m's select() loop; every batch of device activity is one iteration.
Status V4l2CtlRunner::loop(FrameSink& sink) {
  flow_.emplace(Clock::now());
  // do_setup_out_buffers + STREAMON(OUTPUT): every buffer filled and sent at once (INIT).
  // A file that fits in fewer buffers ends here, with a STOP that the driver drops.
  outputStarted_ = true;
  for (InputBuffer& buffer : inputs_) VDEC_TRY(refill(buffer));
  flow_->activity(Clock::now());
  for (;;) {
    Activity activity = std::exchange(carried_, Activity{});
    if (activity.empty()) {
      const auto now = Clock::now();
      const auto deadline = flow_->deadline();
      if (now >= deadline) {
        flow_->timedOut();
        break;
      }
      // Polls the used rings until something completes or select() would time out.
      VDEC_ASSIGN_OR_RETURN(
          activity,
          driver_.waitActivity(std::chrono::ceil<std::chrono::milliseconds>(deadline - now)));
      if (activity.empty()) continue;
    }
    // v4l2-ctl never sees the STREAM_DRAIN reply: it is no activity to it.
    const bool seen = !activity.queues.empty() || !activity.events.empty();
    VDEC_TRY(handle(activity, sink));
    if (seen) flow_->activity(Clock::now());
    const V4l2CtlFlow::Next next = flow_->endOfIteration();
    if (next == V4l2CtlFlow::Next::kExit) break;
    if (next == V4l2CtlFlow::Next::kCaptureSetup) {
      VDEC_TRY(captureSetup());
      flow_->activity(Clock::now());
    }
  }
  summary_.stopSent = flow_->stopSent();
  summary_.stopDropped = flow_->stopDropped();
  summary_.ending = std::string(V4l2CtlFlow::endingName(flow_->ending()));
  logs::harness().info("stream {}: v4l2-ctl left: {} (STOP {}, {} frames, {} skipped)",
                       options_.streamId, summary_.ending,
                       !summary_.stopSent     ? "not sent"
                       : summary_.stopDropped ? "dropped"
                                              : "sent",
                       sink.frames(), summary_.skippedFrames);
  return okStatus();
}

Status V4l2CtlRunner::handle(const Activity& activity, FrameSink& sink) {
  const uint32_t id = options_.streamId;
  // The guest driver first: on RESOLUTION_CHANGED it re-reads both queues (update_params) and,
  // in INIT, holds further input until CAPTURE streams.
  for (const wire::virtio_video_event& event : activity.events) {
    if (event.stream_id != id) {
      logs::harness().warn("event {:#x} for unknown stream {}", event.event_type, event.stream_id);
    } else if (event.event_type == wire::VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED) {
      ++summary_.resolutionChanges;
      VDEC_TRY(updateParams());
      flow_->resolutionChanged();
    }
  }
  // Then one iteration of v4l2-ctl: CAPTURE (rd_fds), OUTPUT (wr_fds), events (ex_fds).
  const bool lastBefore = flow_->lastBufferSeen();
  for (const QueueCompletion& completion : activity.queues) {
    if (completion.streamId == id && completion.queueType == VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT)
      VDEC_TRY(handleCapture(completion, sink));
  }
  for (const QueueCompletion& completion : activity.queues) {
    if (completion.streamId != id) {
      logs::harness().warn("completion for unknown stream {}", completion.streamId);
      continue;
    }
    if (completion.queueType == VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT) continue;
    auto it = std::find_if(inputs_.begin(), inputs_.end(),
                           [&](const InputBuffer& b) { return b.id == completion.resourceId; });
    if (it == inputs_.end() || !it->queued) {
      logs::harness().warn("stream {}: unexpected input completion for resource {}", id,
                           completion.resourceId);
      continue;
    }
    it->queued = false;
    logs::harness().debug("stream {}: OUTPUT resource {} back, flags {:#x}", id,
                          completion.resourceId, completion.flags);
    if (completion.flags & wire::VIRTIO_VIDEO_BUFFER_FLAG_ERR) ++summary_.inputErrors;
    if (completion.flags & wire::VIRTIO_VIDEO_BUFFER_FLAG_EOS)
      logs::harness().warn("stream {}: EOS on input resource {}", id, completion.resourceId);
    VDEC_TRY(refill(*it));
  }
  for (const wire::virtio_video_event& event : activity.events) {
    if (event.stream_id != id) continue;
    if (event.event_type == wire::VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED) {
      flow_->sourceChangeEvent();
    } else if (event.event_type == wire::VIRTIO_VIDEO_EVENT_ERROR) {
      ++summary_.errorEvents;
      flow_->errorEvent();
      logs::harness().info("stream {}: device reported an error event", id);
    } else {
      logs::harness().warn("stream {}: unknown event {:#x}", id, event.event_type);
    }
  }
  // The driver queued a V4L2_EVENT_EOS with the LAST buffer.
  if (flow_->lastBufferSeen() && !lastBefore) flow_->eosEvent();
  for (uint32_t streamId : activity.drainsDone)
    if (streamId == id) logs::harness().debug("stream {}: STREAM_DRAIN answered", id);
  return okStatus();
}

Status V4l2CtlRunner::handleCapture(const QueueCompletion& completion, FrameSink& sink) {
  const uint32_t id = options_.streamId;
  auto it = std::find_if(outputs_.begin(), outputs_.end(),
                         [&](const OutputBuffer& b) { return b.id == completion.resourceId; });
  if (it == outputs_.end() || !it->queued) {
    logs::harness().debug("stream {}: stale output completion for resource {} (flags {:#x})", id,
                          completion.resourceId, completion.flags);
    return okStatus();
  }
  it->queued = false;
  logs::harness().debug("stream {}: CAPTURE resource {} flags {:#x} ts {}", id,
                        completion.resourceId, completion.flags, completion.timestamp);
  switch (flow_->captureDone(completion.flags, cachedFrameBytes())) {
    case V4l2CtlFlow::Capture::kFrame:
      VDEC_TRY(readFrame(*it, sink));
      break;
    case V4l2CtlFlow::Capture::kSkip:
      ++summary_.skippedFrames;
      if (completion.flags & wire::VIRTIO_VIDEO_BUFFER_FLAG_ERR) ++summary_.errorFrames;
      break;
    case V4l2CtlFlow::Capture::kLast:
      if (!flow_->stopSent()) logs::harness().warn("stream {}: EOS without a drain", id);
      summary_.gotEos = true;
      return okStatus();  // not re-queued
  }
  // QBUF(CAPTURE): the m2m worker sends it on unless the job cannot run (STOPPED).
  if (flow_->guestState() == V4l2CtlFlow::GuestState::kStopped) return okStatus();
  VDEC_TRY(withContext(driver_.resourceQueue(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, it->id, 0, 0),
                       "RESOURCE_QUEUE(OUTPUT)", id));
  it->queued = true;
  return okStatus();
}

// do_handle_out for a free OUTPUT buffer: the next sizeimage bytes (or frame) of the file, or,
// at its end, DEC_CMD_STOP.
Status V4l2CtlRunner::refill(InputBuffer& buffer) {
  const uint32_t id = options_.streamId;
  if (!flow_->writing() || buffer.queued || buffer.held) return okStatus();
  if (nextUnit_ >= units_.size()) {
    const bool drain = flow_->stop();
    logs::harness().info("stream {}: end of file: DEC_CMD_STOP {}", id,
                         drain ? "sent as STREAM_DRAIN" : "dropped (CAPTURE is not streaming)");
    if (drain) VDEC_TRY(withContext(driver_.streamDrain(id), "STREAM_DRAIN", id));
    return okStatus();
  }
  const BitstreamUnit& unit = units_[nextUnit_++];
  driver_.ram().write({buffer.range}, 0, unit.data);
  buffer.bytesUsed = static_cast<uint32_t>(unit.data.size());
  buffer.timestamp = unit.timestamp;
  if (flow_->inputGoesOut()) return sendInput(buffer);
  buffer.held = true;
  heldInputs_.push_back(static_cast<size_t>(&buffer - inputs_.data()));
  return okStatus();
}

Status V4l2CtlRunner::sendInput(InputBuffer& buffer) {
  const uint32_t id = options_.streamId;
  VDEC_TRY(withContext(driver_.resourceQueue(id, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, buffer.id,
                                             buffer.timestamp, buffer.bytesUsed),
                       "RESOURCE_QUEUE(INPUT)", id));
  buffer.queued = true;
  buffer.held = false;
  return okStatus();
}

Status V4l2CtlRunner::sendHeldInputs() {
  while (!heldInputs_.empty() && flow_->inputGoesOut()) {
    InputBuffer& buffer = inputs_[heldInputs_.front()];
    heldInputs_.pop_front();
    VDEC_TRY(sendInput(buffer));
  }
  return okStatus();
}

// virtio_video_update_params: GET_PARAMS_EXT(INPUT), then GET_PARAMS_EXT(OUTPUT).
Status V4l2CtlRunner::updateParams() {
  const uint32_t id = options_.streamId;
  VDEC_ASSIGN_OR_RETURN(inParams_, driver_.getParams(id, VIRTIO_VIDEO_QUEUE_TYPE_INPUT));
  VDEC_ASSIGN_OR_RETURN(outParams_, driver_.getParams(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT));
  return okStatus();
}

// capture_setup: STREAMOFF(CAPTURE), REQBUFS(0), G_FMT + G_SELECTION (from the driver's
// cache), REQBUFS(N), QBUF x N, STREAMON(CAPTURE).
Status V4l2CtlRunner::captureSetup() {
  const uint32_t id = options_.streamId;
  if (captureStarted_) {
    // QUEUE_CLEAR returns the queued buffers first (ERR). STREAMOFF discards every CAPTURE
    // buffer, done or not; what else came back is handled in the next iteration.
    VDEC_TRY(withContext(driver_.queueClear(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT),
                         "QUEUE_CLEAR(OUTPUT)", id));
    if (auto flushed = driver_.waitActivity(std::chrono::milliseconds(0)); flushed) {
      for (const QueueCompletion& completion : flushed->queues) {
        if (completion.streamId == id && completion.queueType == VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT) {
          if (!(completion.flags & wire::VIRTIO_VIDEO_BUFFER_FLAG_ERR))
            logs::harness().warn("stream {}: frame in resource {} discarded by STREAMOFF", id,
                                 completion.resourceId);
          continue;
        }
        carried_.queues.push_back(completion);
      }
      carried_.events.insert(carried_.events.end(), flushed->events.begin(), flushed->events.end());
      carried_.drainsDone.insert(carried_.drainsDone.end(), flushed->drainsDone.begin(),
                                 flushed->drainsDone.end());
    }
    for (OutputBuffer& buffer : outputs_) buffer.queued = false;
    captureStarted_ = false;
  }
  VDEC_TRY(withContext(driver_.resourceDestroyAll(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT),
                       "RESOURCE_DESTROY_ALL(OUTPUT)", id));
  releaseOutputs();

  auto layout = layoutFromParams(outParams_.base);
  if (!layout)
    return makeError(layout.error().code, "stream {}: unusable output params: {}", id,
                     layout.error().message);
  layout_ = *layout;
  haveLayout_ = true;
  wire::virtio_video_params_ext params = outParams_;
  params.base.crop = {};
  params.resource_type = options_.memory == OutputMemory::kObject
                             ? wire::VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT
                             : wire::VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
  VDEC_TRY(withContext(driver_.setParams(id, params), "SET_PARAMS_EXT(OUTPUT)", id));
  VDEC_TRY(allocateOutputs(std::max(cachedFrameBytes(), layout_.totalSize())));

  // STREAMON: the worker sends every CAPTURE buffer, then the OUTPUT buffers the guest held.
  flow_->captureStreaming();
  captureStarted_ = true;
  for (OutputBuffer& buffer : outputs_) {
    VDEC_TRY(withContext(driver_.resourceQueue(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, buffer.id, 0, 0),
                         "RESOURCE_QUEUE(OUTPUT)", id));
    buffer.queued = true;
  }
  const size_t held = heldInputs_.size();
  VDEC_TRY(sendHeldInputs());
  const buffers::Rect& v = layout_.visible;
  logs::harness().info(
      "stream {}: capture_setup {}x{} {} (visible {}x{}), {} buffers, {} held "
      "inputs sent, STOP {}",
      id, layout_.width, layout_.height, buffers::pixelFormatName(layout_.format), v.width,
      v.height, outputs_.size(), held, flow_->stopSent() ? "already sent" : "not sent yet");
  return okStatus();
}

Status V4l2CtlRunner::allocateOutputs(uint64_t size) {
  const uint32_t id = options_.streamId;
  const uint32_t count =
      options_.outputBuffers > 0 ? options_.outputBuffers : kDefaultCaptureBuffers;
  for (uint32_t i = 0; i < count; ++i) {
    OutputBuffer& buffer = outputs_.emplace_back();
    buffer.id = kFirstOutputId + i;
    VDEC_TRY(createOutputBuffer(driver_, id, options_.memory, size, buffer));
  }
  return okStatus();
}

void V4l2CtlRunner::releaseOutputs() {
  for (const OutputBuffer& buffer : outputs_) releaseOutputBuffer(driver_, buffer);
  outputs_.clear();
}

// write_buffer_to_file: the visible area as v4l2-ctl's format says, from offset 0.
Status V4l2CtlRunner::readFrame(const OutputBuffer& buffer, FrameSink& sink) {
  if (!haveLayout_)
    return makeError(ErrorCode::kInvalidOperation, "frame before any output layout");
  const uint64_t size = std::min<uint64_t>(buffer.size, layout_.totalSize());
  auto status = sink.consume(outputBytes(driver_, buffer, size, frameBytes_), layout_);
  if (!status)
    return makeError(status.error().code, "frame {} in resource {}: {}", sink.frames(), buffer.id,
                     status.error().message);
  return okStatus();
}

// bytesused of a CAPTURE buffer without ERR/EOS, as the driver computes it.
uint64_t V4l2CtlRunner::cachedFrameBytes() const {
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < std::min(outParams_.base.num_planes, wire::VIRTIO_VIDEO_MAX_PLANES); ++i)
    bytes += outParams_.base.plane_formats[i].plane_size;
  return bytes;
}

// STREAMOFF(CAPTURE), STREAMOFF(OUTPUT), REQBUFS(0) x 2, close(): how v4l2-ctl ends.
Status V4l2CtlRunner::close() {
  const uint32_t id = options_.streamId;
  Status first = okStatus();
  if (streamOpen_) first = destroyStream(driver_, id, captureStarted_, outputStarted_);
  releaseOutputs();
  for (const InputBuffer& buffer : inputs_) driver_.ram().free(buffer.range);
  inputs_.clear();
  heldInputs_.clear();
  units_.clear();
  carried_ = Activity{};
  nextUnit_ = 0;
  haveLayout_ = streamOpen_ = outputStarted_ = captureStarted_ = false;
  return first;
}

}  // namespace vdec::harness
