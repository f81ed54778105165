// SPDX-License-Identifier: MIT
// DecodeRunner: one decode session driven the way the ChromeOS virtio-video guest driver and
// v4l2-ctl drive the device: open, S_FMT, input buffers, capture set up only on
// RESOLUTION_CHANGED, re-queue on every frame, STREAM_DRAIN + EOS, STREAMOFF/REQBUFS(0)/close.
#include "samples/harness/decode_runner.h"

#include <algorithm>

#include "samples/harness/v4l2ctl_runner.h"
#include "vdec/base/logging.h"

namespace vdec::harness {

namespace {

using wire::VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
using wire::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;

constexpr uint32_t kFirstOutputId = 1;
constexpr uint32_t kFirstInputId = 101;  // ids come from one device-wide pool: do not collide
constexpr uint64_t kMinInputBytes = 1ull << 20;

}  // namespace

std::string_view clientModeName(ClientMode mode) {
  switch (mode) {
    case ClientMode::kHarness:
      return "harness";
    case ClientMode::kV4l2Ctl:
      return "v4l2-ctl";
  }
  return "?";
}

std::optional<ClientMode> parseClientMode(std::string_view name) {
  if (name == "harness") return ClientMode::kHarness;
  if (name == "v4l2-ctl") return ClientMode::kV4l2Ctl;
  return std::nullopt;
}

DecodeRunner::DecodeRunner(VideoDriver& driver, const DecodeOptions& options)
    : driver_(driver), options_(options) {}

DecodeRunner::~DecodeRunner() { releaseOutputs(); }

Result<DecodeSummary> DecodeRunner::run(const BitstreamReader& input, FrameSink& sink) {
  if (options_.client == ClientMode::kV4l2Ctl)
    return V4l2CtlRunner(driver_, options_).run(input, sink);
  summary_ = DecodeSummary{};
  const auto start = std::chrono::steady_clock::now();
  Status status = openStream(input);
  if (status) status = decodeLoop(input, sink);
  const auto end = std::chrono::steady_clock::now();
  Status closed = closeStream();
  if (!status) return makeError(status.error());
  VDEC_TRY(closed);
  summary_.frames = sink.frames();
  summary_.seconds = std::chrono::duration<double>(end - start).count();
  summary_.fps = summary_.seconds > 0 ? double(summary_.frames) / summary_.seconds : 0;
  summary_.wholeMd5 = sink.wholeMd5();
  summary_.layout = layout_;
  return summary_;
}

// open() + S_FMT(OUTPUT) + S_FMT(CAPTURE) + REQBUFS(OUTPUT, MMAP) of the guest driver.
Status DecodeRunner::openStream(const BitstreamReader& input) {
  const uint32_t id = options_.streamId;
  const uint32_t coded = virtioCodedFormat(input.codec());
  VDEC_TRY(withContext(driver_.streamCreate(id, coded), "STREAM_CREATE", id));
  streamOpen_ = true;
  VDEC_ASSIGN_OR_RETURN(inParams_, driver_.getParams(id, VIRTIO_VIDEO_QUEUE_TYPE_INPUT));
  VDEC_ASSIGN_OR_RETURN(outParams_, driver_.getParams(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT));
  if (auto profile = driver_.getControl(id, wire::VIRTIO_VIDEO_CONTROL_PROFILE); !profile)
    logs::harness().debug("stream {}: GET_CONTROL(PROFILE) failed: {}", id,
                          profile.error().message);

  // Input buffers: the largest unit, page-aligned; at least 1 MiB unless the whole file is one.
  uint64_t inputSize = pageAlign(std::max<uint64_t>(input.maxUnitSize(), 1));
  if (input.units().size() > 1 || !input.isByteStream())
    inputSize = std::max(inputSize, kMinInputBytes);

  // S_FMT(OUTPUT): the caller's coded format and sizeimage; the device answers in the GETs.
  wire::virtio_video_params_ext params = inParams_;
  params.base.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
  params.base.format = coded;
  params.base.crop = {};
  params.base.num_planes = 1;
  params.base.plane_formats[0] = {static_cast<uint32_t>(inputSize), 0};
  VDEC_TRY(withContext(driver_.setParams(id, params), "SET_PARAMS_EXT(INPUT)", id));
  VDEC_ASSIGN_OR_RETURN(inParams_, driver_.getParams(id, VIRTIO_VIDEO_QUEUE_TYPE_INPUT));
  VDEC_ASSIGN_OR_RETURN(outParams_, driver_.getParams(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT));
  if (inParams_.base.format != coded)
    return makeError(ErrorCode::kUnsupported, "device kept input format {:#x}, wanted {:#x} ({})",
                     inParams_.base.format, coded, codecs::codedFormatName(input.codec()));

  // S_FMT(CAPTURE): the raw format we want, other fields as cached.
  params = outParams_;
  params.base.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
  params.base.format = virtioRawFormat(options_.outputFormat);
  params.base.crop = {};
  VDEC_TRY(withContext(driver_.setParams(id, params), "SET_PARAMS_EXT(OUTPUT)", id));
  VDEC_ASSIGN_OR_RETURN(inParams_, driver_.getParams(id, VIRTIO_VIDEO_QUEUE_TYPE_INPUT));
  VDEC_ASSIGN_OR_RETURN(outParams_, driver_.getParams(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT));
  if (outParams_.base.format != params.base.format)
    logs::harness().warn("stream {}: device answered output format {} for requested {}", id,
                         outParams_.base.format, buffers::pixelFormatName(options_.outputFormat));

  // REQBUFS(OUTPUT, MMAP): SET_PARAMS_EXT with GUEST_PAGES, then one RESOURCE_CREATE per buffer.
  params = inParams_;
  params.base.crop = {};
  params.resource_type = wire::VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
  VDEC_TRY(withContext(driver_.setParams(id, params), "SET_PARAMS_EXT(INPUT, GUEST_PAGES)", id));
  for (uint32_t i = 0; i < options_.inputBuffers; ++i) {
    VDEC_ASSIGN_OR_RETURN(buffers::GuestRange range, driver_.ram().allocContiguous(inputSize));
    inputs_.push_back({kFirstInputId + i, range, false});
    VDEC_TRY(withContext(driver_.resourceCreateGuestPages(id, VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                                                          kFirstInputId + i, {range}),
                         "RESOURCE_CREATE(INPUT)", id));
  }
  return okStatus();
}

Status DecodeRunner::feedInputs(const BitstreamReader& input) {
  const auto& units = input.units();
  for (InputBuffer& buffer : inputs_) {
    if (stopped_ || nextUnit_ >= units.size()) break;
    if (buffer.queued) continue;
    const BitstreamUnit& unit = units[nextUnit_];
    if (unit.data.size() > buffer.range.length)
      return makeError(ErrorCode::kInvalidParameter, "unit {} ({} bytes) exceeds input buffer",
                       nextUnit_, unit.data.size());
    driver_.ram().write({buffer.range}, 0, unit.data);
    VDEC_TRY(withContext(
        driver_.resourceQueue(options_.streamId, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, buffer.id,
                              unit.timestamp, static_cast<uint32_t>(unit.data.size())),
        "RESOURCE_QUEUE(INPUT)", options_.streamId));
    buffer.queued = true;
    inputStreaming_ = true;
    ++nextUnit_;
  }
  return okStatus();
}

Status DecodeRunner::decodeLoop(const BitstreamReader& input, FrameSink& sink) {
  const uint32_t id = options_.streamId;
  while (!(summary_.gotEos && drainDone_) && !stopped_) {
    VDEC_TRY(feedInputs(input));
    // V4L2 STOP reaches the device only once both queues stream, i.e. after capture setup.
    if (nextUnit_ == input.units().size() && captureStreaming_ && !drainSent_) {
      VDEC_TRY(withContext(driver_.streamDrain(id), "STREAM_DRAIN", id));
      drainSent_ = true;
    }
    auto activity = driver_.waitActivity(options_.idleTimeout);
    if (!activity || activity->empty())
      return makeError(ErrorCode::kBackendFailure, "no activity from the device for {} ms ({}){}{}",
                       options_.idleTimeout.count(), pendingDescription(input),
                       activity ? "" : ": ", activity ? "" : activity.error().message);
    VDEC_TRY(handleActivity(*activity, sink, false));
    while (!pendingEvents_.empty() && !stopped_) {
      wire::virtio_video_event event = pendingEvents_.front();
      pendingEvents_.erase(pendingEvents_.begin());
      if (event.event_type == wire::VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED) {
        ++summary_.resolutionChanges;
        VDEC_TRY(setupCapture(sink));
      } else if (event.event_type == wire::VIRTIO_VIDEO_EVENT_ERROR) {
        ++summary_.errorEvents;
        stopped_ = true;
        logs::harness().info("stream {}: device reported an error event", id);
      } else {
        logs::harness().warn("stream {}: unknown event {:#x}", id, event.event_type);
      }
    }
  }
  return okStatus();
}

Status DecodeRunner::handleActivity(const Activity& activity, FrameSink& sink,
                                    bool clearingOutputs) {
  const uint32_t id = options_.streamId;
  for (const QueueCompletion& completion : activity.queues) {
    if (completion.streamId != id) {
      logs::harness().warn("completion for unknown stream {}", completion.streamId);
      continue;
    }
    if (completion.queueType == VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT) {
      VDEC_TRY(handleOutput(completion, sink, clearingOutputs));
      continue;
    }
    auto it = std::find_if(inputs_.begin(), inputs_.end(),
                           [&](const InputBuffer& b) { return b.id == completion.resourceId; });
    if (it == inputs_.end() || !it->queued) {
      logs::harness().warn("stream {}: unexpected input completion for resource {}", id,
                           completion.resourceId);
      continue;
    }
    it->queued = false;
    if (completion.flags & wire::VIRTIO_VIDEO_BUFFER_FLAG_ERR) ++summary_.inputErrors;
    if (completion.flags & wire::VIRTIO_VIDEO_BUFFER_FLAG_EOS)
      logs::harness().warn("stream {}: EOS on input resource {}", id, completion.resourceId);
  }
  for (size_t i = 0; i < activity.drainsDone.size(); ++i) {
    if (activity.drainsDone[i] != id) continue;
    drainDone_ = true;
    uint32_t type = i < activity.drainResponseTypes.size() ? activity.drainResponseTypes[i]
                                                           : wire::VIRTIO_VIDEO_RESP_OK_NODATA;
    if (type != wire::VIRTIO_VIDEO_RESP_OK_NODATA)
      return makeError(ErrorCode::kBackendFailure, "STREAM_DRAIN (stream {}) answered {:#x}", id,
                       type);
  }
  for (const wire::virtio_video_event& event : activity.events) {
    if (event.stream_id == id)
      pendingEvents_.push_back(event);
    else
      logs::harness().warn("event {:#x} for unknown stream {}", event.event_type, event.stream_id);
  }
  return okStatus();
}

Status DecodeRunner::handleOutput(const QueueCompletion& completion, FrameSink& sink,
                                  bool clearingOutputs) {
  const uint32_t id = options_.streamId;
  auto it = std::find_if(outputs_.begin(), outputs_.end(),
                         [&](const OutputBuffer& b) { return b.id == completion.resourceId; });
  if (it == outputs_.end() || !it->queued) {
    logs::harness().debug("stream {}: stale output completion for resource {} (flags {:#x})", id,
                          completion.resourceId, completion.flags);
    return okStatus();
  }
  it->queued = false;
  const uint32_t flags = completion.flags;
  if (flags & wire::VIRTIO_VIDEO_BUFFER_FLAG_EOS) {
    if (!drainSent_) logs::harness().warn("stream {}: EOS without a drain", id);
    summary_.gotEos = true;
    return okStatus();
  }
  if (flags & wire::VIRTIO_VIDEO_BUFFER_FLAG_ERR) {
    if (clearingOutputs || stopped_) return okStatus();  // returned by QUEUE_CLEAR
    ++summary_.errorFrames;
  } else {
    VDEC_TRY(readFrame(*it, sink));
    SPDLOG_LOGGER_TRACE(&logs::harness(), "stream {} frame {} ts={} in resource {}", id,
                        sink.frames(), completion.timestamp, completion.resourceId);
  }
  if (clearingOutputs || stopped_) return okStatus();
  VDEC_TRY(withContext(driver_.resourceQueue(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, it->id, 0, 0),
                       "RESOURCE_QUEUE(OUTPUT)", id));
  it->queued = true;
  return okStatus();
}

Status DecodeRunner::readFrame(const OutputBuffer& buffer, FrameSink& sink) {
  if (!haveLayout_)
    return makeError(ErrorCode::kInvalidOperation, "frame before any output layout");
  const uint64_t size = std::min<uint64_t>(buffer.size, layout_.totalSize());
  auto status = sink.consume(outputBytes(driver_, buffer, size, frameBytes_), layout_);
  if (!status)
    return makeError(status.error().code, "frame {} in resource {}: {}", sink.frames(), buffer.id,
                     status.error().message);
  return okStatus();
}

// The guest's reaction to RESOLUTION_CHANGED (update_params) and v4l2-ctl's capture_setup:
// STREAMOFF(CAPTURE), REQBUFS(0), G_FMT, REQBUFS(N), QBUF x N, STREAMON.
Status DecodeRunner::setupCapture(FrameSink& sink) {
  const uint32_t id = options_.streamId;
  VDEC_ASSIGN_OR_RETURN(inParams_, driver_.getParams(id, VIRTIO_VIDEO_QUEUE_TYPE_INPUT));
  VDEC_ASSIGN_OR_RETURN(outParams_, driver_.getParams(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT));
  auto layout = layoutFromParams(outParams_.base);
  if (!layout)
    return makeError(layout.error().code,
                     "stream {}: unusable output params after "
                     "RESOLUTION_CHANGED: {}",
                     id, layout.error().message);

  if (captureStreaming_) {
    // QUEUE_CLEAR returns the queued buffers first (ERR); frames completed before it are kept.
    VDEC_TRY(withContext(driver_.queueClear(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT),
                         "QUEUE_CLEAR(OUTPUT)", id));
    if (auto flushed = driver_.waitActivity(std::chrono::milliseconds(0)); flushed)
      VDEC_TRY(handleActivity(*flushed, sink, true));
    for (OutputBuffer& buffer : outputs_) buffer.queued = false;
    captureStreaming_ = false;
  }
  VDEC_TRY(withContext(driver_.resourceDestroyAll(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT),
                       "RESOURCE_DESTROY_ALL(OUTPUT)", id));
  releaseOutputs();

  wire::virtio_video_params_ext params = outParams_;
  params.base.crop = {};
  params.resource_type = options_.memory == OutputMemory::kObject
                             ? wire::VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT
                             : wire::VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
  VDEC_TRY(withContext(driver_.setParams(id, params), "SET_PARAMS_EXT(OUTPUT)", id));
  layout_ = *layout;
  haveLayout_ = true;
  uint64_t sizeImage = 0;
  for (uint32_t i = 0; i < std::min(outParams_.base.num_planes, wire::VIRTIO_VIDEO_MAX_PLANES); ++i)
    sizeImage += outParams_.base.plane_formats[i].plane_size;
  VDEC_TRY(allocateOutputs(std::max(sizeImage, layout_.totalSize())));
  for (OutputBuffer& buffer : outputs_) {
    VDEC_TRY(withContext(driver_.resourceQueue(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, buffer.id, 0, 0),
                         "RESOURCE_QUEUE(OUTPUT)", id));
    buffer.queued = true;
  }
  captureStreaming_ = true;
  const buffers::Rect& v = layout_.visible;
  logs::harness().info("stream {}: capture {}x{} {} (visible {}x{}+{}+{}), {} x {} bytes in {}", id,
                       layout_.width, layout_.height, buffers::pixelFormatName(layout_.format),
                       v.width, v.height, v.left, v.top, outputs_.size(), outputs_.front().size,
                       outputMemoryName(options_.memory));
  return okStatus();
}

Status DecodeRunner::allocateOutputs(uint64_t size) {
  const uint32_t id = options_.streamId;
  const uint32_t count = options_.outputBuffers > 0
                             ? options_.outputBuffers
                             : std::max<uint32_t>(outParams_.base.min_buffers + 2, 4);
  for (uint32_t i = 0; i < count; ++i) {
    OutputBuffer& buffer = outputs_.emplace_back();
    buffer.id = kFirstOutputId + i;
    VDEC_TRY(createOutputBuffer(driver_, id, options_.memory, size, buffer));
  }
  return okStatus();
}

void DecodeRunner::releaseOutputs() {
  for (const OutputBuffer& buffer : outputs_) releaseOutputBuffer(driver_, buffer);
  outputs_.clear();
}

// STREAMOFF(CAPTURE), STREAMOFF(OUTPUT), REQBUFS(0) x 2, close(), as v4l2-ctl ends.
Status DecodeRunner::closeStream() {
  const uint32_t id = options_.streamId;
  Status first = okStatus();
  if (streamOpen_) {
    // The statistics live with the stream: read them before it is destroyed.
    if (options_.readStats) {
      auto stats = readStats();
      if (stats) {
        summary_.stats = *stats;
      } else {
        first = withContext(makeError(stats.error()), "GET_CONTROL(statistics)", id);
      }
    }
    Status destroyed = destroyStream(driver_, id, captureStreaming_, inputStreaming_);
    if (first) first = std::move(destroyed);
  }
  releaseOutputs();
  for (const InputBuffer& buffer : inputs_) driver_.ram().free(buffer.range);
  inputs_.clear();
  pendingEvents_.clear();
  haveLayout_ = inputStreaming_ = captureStreaming_ = streamOpen_ = false;
  drainSent_ = drainDone_ = stopped_ = false;
  nextUnit_ = 0;
  return first;
}

Result<StreamStats> DecodeRunner::readStats() {
  const uint32_t id = options_.streamId;
  StreamStats stats;
  const std::pair<uint32_t, uint32_t*> controls[] = {
      {wire::VDEC_CONTROL_STATS_FRAMES, &stats.frames},
      {wire::VDEC_CONTROL_STATS_BYTES_COPIED_PER_FRAME, &stats.bytesCopiedPerFrame},
      {wire::VDEC_CONTROL_STATS_DIRECT_FRAMES, &stats.directFrames},
      {wire::VDEC_CONTROL_STATS_BOUNCE_FRAMES, &stats.bounceFrames},
      {wire::VDEC_CONTROL_STATS_ERROR_FRAMES, &stats.errorFrames},
  };
  for (const auto& [control, value] : controls) {
    VDEC_ASSIGN_OR_RETURN(*value, driver_.getControl(id, control));
  }
  return stats;
}

std::string DecodeRunner::pendingDescription(const BitstreamReader& input) const {
  size_t inputsOut =
      std::count_if(inputs_.begin(), inputs_.end(), [](const InputBuffer& b) { return b.queued; });
  size_t outputsOut = std::count_if(outputs_.begin(), outputs_.end(),
                                    [](const OutputBuffer& b) { return b.queued; });
  std::string waiting;
  if (!captureStreaming_)
    waiting = "waiting for the first RESOLUTION_CHANGED";
  else if (!drainSent_)
    waiting = "waiting for input buffers or frames";
  else if (!summary_.gotEos)
    waiting = "drain sent, waiting for the EOS buffer";
  else
    waiting = "EOS seen, waiting for the STREAM_DRAIN response";
  return fmt::format(
      "{}; fed {}/{} input units, {} input and {}/{} output buffers queued, "
      "{} frames so far",
      waiting, nextUnit_, input.units().size(), inputsOut, outputsOut, outputs_.size(),
      summary_.frames);
}

}  // namespace vdec::harness
