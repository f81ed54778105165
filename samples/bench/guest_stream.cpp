// SPDX-License-Identifier: MIT
#include "samples/bench/guest_stream.h"

#include <algorithm>

#include "samples/harness/frame_converter.h"
#include "vdec/base/logging.h"

namespace vdec::bench {

namespace {

using harness::pageAlign;
using harness::virtioCodedFormat;
using harness::virtioRawFormat;
using harness::withContext;
using wire::VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
using wire::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;

constexpr uint32_t kFirstOutputId = 1;
constexpr uint32_t kFirstInputId = 101;  // one device-wide id pool: keep clear of the outputs
constexpr uint64_t kMinInputBytes = 1ull << 20;

}  // namespace

GuestStream::GuestStream(harness::VideoDriver& driver, const GuestStreamOptions& options)
    : driver_(driver), options_(options) {}

GuestStream::~GuestStream() { close(); }

Result<GuestRun> GuestStream::run(const harness::BitstreamReader& input, const Hook& hook) {
  VDEC_ASSIGN_OR_RETURN(auto runs, runConcurrently(driver_, {this}, {&input}, hook));
  return runs.front();
}

Status GuestStream::start(const harness::BitstreamReader& input) {
  run_ = GuestRun{};
  input_ = &input;
  run_.createdAt = std::chrono::steady_clock::now();
  return open(input);
}

Status GuestStream::pump() {
  VDEC_TRY(feed(*input_));
  if (nextUnit_ == input_->units().size() && captureStreaming_ && !drainSent_) {
    VDEC_TRY(withContext(driver_.streamDrain(options_.streamId), "STREAM_DRAIN", options_.streamId));
    drainSent_ = true;
  }
  return okStatus();
}

Result<GuestRun> GuestStream::finish() {
  using Seconds = std::chrono::duration<double>;
  if (run_.eosAt == std::chrono::steady_clock::time_point{})
    run_.eosAt = std::chrono::steady_clock::now();
  run_.seconds = Seconds(run_.eosAt - run_.createdAt).count();
  if (run_.frames > 0) run_.firstFrameSeconds = Seconds(run_.firstFrameAt - run_.createdAt).count();
  run_.stats = readStats();
  close();
  return run_;
}

Result<std::vector<GuestRun>> runConcurrently(
    harness::VideoDriver& driver, const std::vector<GuestStream*>& streams,
    const std::vector<const harness::BitstreamReader*>& inputs, const GuestStream::Hook& hook,
    const std::function<void()>& atEnd) {
  constexpr std::chrono::milliseconds kIdleTimeout{20000};
  auto allFinished = [&] {
    return std::all_of(streams.begin(), streams.end(),
                       [](const GuestStream* s) { return s->finished(); });
  };
  for (size_t i = 0; i < streams.size(); ++i) VDEC_TRY(streams[i]->start(*inputs[i]));
  while (!allFinished()) {
    for (GuestStream* stream : streams)
      if (!stream->finished()) VDEC_TRY(stream->pump());
    auto activity = driver.waitActivity(kIdleTimeout);
    if (!activity) return makeError(activity.error());
    if (activity->empty())
      return makeError(ErrorCode::kBackendFailure, "no activity for {} ms",
                       kIdleTimeout.count());
    for (GuestStream* stream : streams) VDEC_TRY(stream->handle(*activity));
    if (hook) VDEC_TRY(hook());
  }
  if (atEnd) atEnd();
  std::vector<GuestRun> runs;
  for (GuestStream* stream : streams) {
    VDEC_ASSIGN_OR_RETURN(GuestRun run, stream->finish());
    runs.push_back(run);
  }
  return runs;
}

// open(), S_FMT on both queues, REQBUFS(OUTPUT): as DecodeRunner::openStream.
Status GuestStream::open(const harness::BitstreamReader& input) {
  const uint32_t id = options_.streamId;
  const uint32_t coded = virtioCodedFormat(input.codec());
  VDEC_TRY(withContext(driver_.streamCreate(id, coded), "STREAM_CREATE", id));
  streamOpen_ = true;
  uint64_t inputSize = pageAlign(std::max<uint64_t>(input.maxUnitSize(), 1));
  if (input.units().size() > 1 || !input.isByteStream())
    inputSize = std::max(inputSize, kMinInputBytes);

  VDEC_ASSIGN_OR_RETURN(auto params, driver_.getParams(id, VIRTIO_VIDEO_QUEUE_TYPE_INPUT));
  params.base.format = coded;
  params.base.crop = {};
  params.base.num_planes = 1;
  params.base.plane_formats[0] = {static_cast<uint32_t>(inputSize), 0};
  VDEC_TRY(withContext(driver_.setParams(id, params), "SET_PARAMS_EXT(INPUT)", id));

  VDEC_ASSIGN_OR_RETURN(params, driver_.getParams(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT));
  params.base.format = virtioRawFormat(options_.outputFormat);
  params.base.crop = {};
  VDEC_TRY(withContext(driver_.setParams(id, params), "SET_PARAMS_EXT(OUTPUT)", id));

  VDEC_ASSIGN_OR_RETURN(params, driver_.getParams(id, VIRTIO_VIDEO_QUEUE_TYPE_INPUT));
  params.base.crop = {};
  params.resource_type = wire::VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
  VDEC_TRY(withContext(driver_.setParams(id, params), "SET_PARAMS_EXT(INPUT, GUEST_PAGES)", id));
  for (uint32_t i = 0; i < options_.inputBuffers; ++i) {
    VDEC_ASSIGN_OR_RETURN(buffers::GuestRange range, driver_.ram().allocContiguous(inputSize));
    inputs_.push_back({.id = kFirstInputId + i, .ranges = {range}});
    VDEC_TRY(withContext(driver_.resourceCreateGuestPages(id, VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                                                          kFirstInputId + i, {range}),
                         "RESOURCE_CREATE(INPUT)", id));
  }
  return okStatus();
}

Status GuestStream::feed(const harness::BitstreamReader& input) {
  const auto& units = input.units();
  for (Buffer& buffer : inputs_) {
    if (failed_ || nextUnit_ >= units.size()) break;
    if (buffer.queued) continue;
    const harness::BitstreamUnit& unit = units[nextUnit_];
    if (unit.data.size() > buffer.ranges[0].length)
      return makeError(ErrorCode::kInvalidParameter, "unit {} ({} bytes) exceeds input buffer",
                       nextUnit_, unit.data.size());
    driver_.ram().write(buffer.ranges, 0, unit.data);
    VDEC_TRY(withContext(
        driver_.resourceQueue(options_.streamId, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, buffer.id,
                              unit.timestamp, static_cast<uint32_t>(unit.data.size())),
        "RESOURCE_QUEUE(INPUT)", options_.streamId));
    buffer.queued = true;
    ++nextUnit_;
  }
  return okStatus();
}

Status GuestStream::handle(const harness::Activity& activity) {
  const uint32_t id = options_.streamId;
  for (const harness::QueueCompletion& done : activity.queues) {
    if (done.streamId != id) continue;  // e.g. the latency probe's idle stream
    auto& pool = done.queueType == VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT ? outputs_ : inputs_;
    auto it = std::find_if(pool.begin(), pool.end(),
                           [&](const Buffer& b) { return b.id == done.resourceId; });
    if (it == pool.end() || !it->queued) continue;  // stale: returned by a QUEUE_CLEAR
    it->queued = false;
    if (done.queueType != VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT) continue;
    if (done.flags & wire::VIRTIO_VIDEO_BUFFER_FLAG_EOS) {
      gotEos_ = true;
      run_.eosAt = std::chrono::steady_clock::now();
      continue;
    }
    if (done.flags & wire::VIRTIO_VIDEO_BUFFER_FLAG_ERR) {
      ++run_.errorFrames;
    } else {
      if (run_.frames++ == 0) run_.firstFrameAt = std::chrono::steady_clock::now();
    }
    // The guest would display the frame here; the benchmark hands the buffer straight back.
    VDEC_TRY(withContext(driver_.resourceQueue(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, it->id, 0, 0),
                         "RESOURCE_QUEUE(OUTPUT)", id));
    it->queued = true;
  }
  for (size_t i = 0; i < activity.drainsDone.size(); ++i)
    if (activity.drainsDone[i] == id) drainDone_ = true;
  for (const wire::virtio_video_event& event : activity.events) {
    if (event.stream_id != id) continue;
    if (event.event_type == wire::VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED)
      VDEC_TRY(setupCapture());
    else if (event.event_type == wire::VIRTIO_VIDEO_EVENT_ERROR)
      failed_ = true;
  }
  if (failed_) return makeError(ErrorCode::kBackendFailure, "stream {}: error event", id);
  return okStatus();
}

// The guest's answer to RESOLUTION_CHANGED: STREAMOFF, REQBUFS(0), G_FMT, REQBUFS(N), QBUF xN.
Status GuestStream::setupCapture() {
  const uint32_t id = options_.streamId;
  VDEC_ASSIGN_OR_RETURN(auto params, driver_.getParams(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT));
  VDEC_ASSIGN_OR_RETURN(buffers::FrameLayout layout, harness::layoutFromParams(params.base));
  if (captureStreaming_) {
    VDEC_TRY(
        withContext(driver_.queueClear(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT), "QUEUE_CLEAR", id));
    for (Buffer& buffer : outputs_) buffer.queued = false;
    captureStreaming_ = false;
  }
  VDEC_TRY(withContext(driver_.resourceDestroyAll(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT),
                       "RESOURCE_DESTROY_ALL(OUTPUT)", id));
  releaseOutputs();
  params.base.crop = {};
  params.resource_type = options_.memory == harness::OutputMemory::kObject
                             ? wire::VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT
                             : wire::VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
  VDEC_TRY(withContext(driver_.setParams(id, params), "SET_PARAMS_EXT(OUTPUT)", id));
  uint64_t size = 0;
  for (uint32_t i = 0; i < std::min(params.base.num_planes, wire::VIRTIO_VIDEO_MAX_PLANES); ++i)
    size += params.base.plane_formats[i].plane_size;
  size = std::max(size, layout.totalSize());
  const uint32_t count = options_.outputBuffers > 0
                             ? options_.outputBuffers
                             : std::max<uint32_t>(params.base.min_buffers + 2, 4);
  for (uint32_t i = 0; i < count; ++i) {
    Buffer& buffer = outputs_.emplace_back();
    buffer.id = kFirstOutputId + i;
    VDEC_TRY(harness::createOutputBuffer(driver_, id, options_.memory, size, buffer));
    VDEC_TRY(withContext(driver_.resourceQueue(id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, buffer.id, 0, 0),
                         "RESOURCE_QUEUE(OUTPUT)", id));
    buffer.queued = true;
  }
  captureStreaming_ = true;
  return okStatus();
}

std::optional<DeviceStats> GuestStream::readStats() {
  const uint32_t id = options_.streamId;
  DeviceStats stats;
  struct Field {
    uint32_t control;
    uint32_t* value;
  };
  const Field fields[] = {
      {wire::VDEC_CONTROL_STATS_FRAMES, &stats.frames},
      {wire::VDEC_CONTROL_STATS_BYTES_COPIED_PER_FRAME, &stats.bytesCopiedPerFrame},
      {wire::VDEC_CONTROL_STATS_DIRECT_FRAMES, &stats.directFrames},
      {wire::VDEC_CONTROL_STATS_BOUNCE_FRAMES, &stats.bounceFrames},
      {wire::VDEC_CONTROL_STATS_ERROR_FRAMES, &stats.errorFrames},
  };
  for (const Field& field : fields) {
    auto value = driver_.getControl(id, field.control);
    if (!value) {
      logs::harness().debug("stream {}: GET_CONTROL({:#x}) failed: {}", id, field.control,
                            value.error().message);
      return std::nullopt;
    }
    *field.value = *value;
  }
  return stats;
}

void GuestStream::close() {
  const uint32_t id = options_.streamId;
  if (streamOpen_) {
    // Errors here only matter for the next run, which reports them itself.
    (void)harness::destroyStream(driver_, id, true, true);
  }
  releaseOutputs();
  for (const Buffer& buffer : inputs_)
    for (const auto& range : buffer.ranges) driver_.ram().free(range);
  inputs_.clear();
  streamOpen_ = captureStreaming_ = drainSent_ = drainDone_ = gotEos_ = failed_ = false;
  nextUnit_ = 0;
}

void GuestStream::releaseOutputs() {
  for (const Buffer& buffer : outputs_) harness::releaseOutputBuffer(driver_, buffer);
  outputs_.clear();
}

}  // namespace vdec::bench
