// SPDX-License-Identifier: MIT
#include "vdec/video_device.h"


#include <algorithm>
#include <cstring>

#include "vdec/base/logging.h"
#include "vdec/base/wire.h"
#include "vdec/command.h"
#include "vdec/formats.h"
#include "vdec/response.h"
#include "vdec/stream.h"

namespace vdec {
namespace w = wire;

VideoDevice::VideoDevice(DeviceConfig config, std::shared_ptr<codecs::DecoderBackend> backend)
    : config_(std::move(config)),
      backend_(std::move(backend)),
      decoderSlots_(config_.maxDecodingStreams),
      memoryBudget_(MemoryBudget::create(config_.maxMemory)),
      streamContext_{config_,
                     *backend_,
                     memory_,
                     resolver_,
                     statistics_,
                     decoderSlots_,
                     memoryBudget_,
                     [this](uint64_t tag, std::vector<std::byte> response) {
                       complete(tag, std::move(response));
                     },
                     [this](uint32_t type, uint32_t streamId) { queueEvent(type, streamId); },
                     wake_.signaller(),
                     codecs::ThreadBudget::create(config_.decoderThreadBudget)} {}

VideoDevice::~VideoDevice() {
  streams_.clear();  // joins every decoding thread before the eventfd they signal goes away
}

uint64_t VideoDevice::deviceFeatures() const {
  uint64_t features = (1ull << w::VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES) |
                      (1ull << w::VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG);
  if (config_.offerVirtioObjects) features |= 1ull << w::VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT;
  return features;
}

w::virtio_video_config VideoDevice::config() const {
  w::virtio_video_config config{};
  config.version = 0;
  config.max_caps_length = config_.maxCapsLength;
  config.max_resp_length = config_.maxResponseLength;
  std::strncpy(reinterpret_cast<char*>(config.device_name), config_.deviceName.c_str(),
               sizeof(config.device_name) - 1);
  return config;
}

void VideoDevice::setGuestMemory(std::shared_ptr<const buffers::GuestMemory> memory) {
  memory_ = std::move(memory);
}

void VideoDevice::setObjectResolver(buffers::ObjectResolver* resolver) { resolver_ = resolver; }

int VideoDevice::notifyFd() const { return wake_.fd(); }

void VideoDevice::complete(uint64_t tag, std::vector<std::byte> response) {
  auto capacity = capacities_.find(tag);
  if (capacity != capacities_.end()) {
    if (response.size() > capacity->second) {
      // The guest's buffer is too small for the answer: say so in what fits.
      logs::device().debug("response of {} bytes does not fit the guest's {} bytes",
                           response.size(), capacity->second);
      auto hdr = readWire<w::virtio_video_cmd_hdr>(response);
      response = errorResponse(ErrorCode::kInvalidParameter, hdr ? hdr->stream_id : 0);
      response.resize(std::min(response.size(), capacity->second));
    }
    capacities_.erase(capacity);
  }
  completions_.push_back({tag, std::move(response)});
}

void VideoDevice::queueEvent(uint32_t type, uint32_t streamId) {
  if (events_.size() >= config_.maxPendingEvents) {
    logs::device().error("event queue full ({} pending): dropping event {:#x} of stream {}",
                         events_.size(), type, streamId);
    return;
  }
  events_.push_back({type, streamId});
}

w::virtio_video_event VideoDevice::popEvent() {
  VDEC_CHECK(!events_.empty());
  auto event = events_.front();
  events_.pop_front();
  return event;
}

std::vector<Completion> VideoDevice::takeCompletions() { return std::exchange(completions_, {}); }

void VideoDevice::handleCommand(uint64_t tag, std::span<const std::byte> request,
                                size_t responseCapacity) {
  capacities_[tag] = responseCapacity;
  dispatch(tag, request);
}

std::vector<std::byte> VideoDevice::outOfMemoryResponse(std::span<const std::byte> request) const {
  w::virtio_video_cmd_hdr header{};
  uint32_t requestedQueue = 0;  // as in dispatch(): error replies that must name it
  if (!request.empty()) {
    std::memcpy(&header, request.data(), std::min(request.size(), sizeof(header)));
  }
  if (request.size() >= sizeof(header) + sizeof(requestedQueue)) {
    std::memcpy(&requestedQueue, request.data() + sizeof(header), sizeof(requestedQueue));
  }
  return errorResponseFor(header.type, ErrorCode::kOutOfMemory, header.stream_id, requestedQueue);
}

void VideoDevice::dispatch(uint64_t tag, std::span<const std::byte> request) {
  w::virtio_video_cmd_hdr header{};
  CommandLimits limits{config_.maxEntriesPerResource};
  auto command = parseCommand(request, limits, &header);
  // The queue_type a queue command asked about (its first field after the header), for error
  // replies that must name it (errorResponseFor); 0 if the request is too short.
  uint32_t requestedQueue = 0;
  if (request.size() >= sizeof(header) + sizeof(requestedQueue)) {
    std::memcpy(&requestedQueue, request.data() + sizeof(header), sizeof(requestedQueue));
  }
  if (!command) {
    logs::device().debug("bad command {:#x} ({} bytes): {}", header.type, request.size(),
                         command.error().message);
    ++statistics_.errorResponses;
    return complete(tag, errorResponseFor(header.type, command.error().code, header.stream_id,
                                          requestedQueue));
  }
  SPDLOG_LOGGER_DEBUG(&logs::device(), "stream {}: {}", command->streamId,
                      commandName(command->type));
  const uint32_t streamId = command->streamId;
  auto fail = [&](ErrorCode code, const char* why) {
    logs::device().debug("stream {}: {}: {}", streamId, commandName(command->type), why);
    ++statistics_.errorResponses;
    complete(tag, errorResponseFor(command->type, code, streamId, requestedQueue));
  };

  if (auto* query = std::get_if<QueryCapabilityCmd>(&command->body)) {
    return complete(tag, buildCapabilityResponse(query->queue, streamId, backend_->capabilities(),
                                                 backend_->outputFormats()));
  }
  if (auto* query = std::get_if<QueryControlCmd>(&command->body)) {
    return queryControl(tag, streamId, *query);
  }
  if (auto* create = std::get_if<StreamCreateCmd>(&command->body)) {
    if (streams_.count(streamId)) return fail(ErrorCode::kInvalidStreamId, "stream id in use");
    if (streams_.size() >= config_.maxStreams) return fail(ErrorCode::kOutOfMemory, "too many streams");
    auto format = codedFormatFromVirtio(create->codedFormat);
    if (!format) return fail(ErrorCode::kInvalidParameter, "unsupported coded format");
    streams_[streamId] = std::make_unique<Stream>(streamContext_, streamId, *create, *format);
    return complete(tag, okNoDataResponse(streamId));
  }
  auto it = streams_.find(streamId);
  if (it == streams_.end()) return fail(ErrorCode::kInvalidStreamId, "no such stream");
  if (std::holds_alternative<StreamDestroyCmd>(command->body)) {
    it->second->cancelAll();
    streams_.erase(it);
    return complete(tag, okNoDataResponse(streamId));
  }
  it->second->handle(tag, *command);
}

void VideoDevice::queryControl(uint64_t tag, uint32_t streamId, const QueryControlCmd& query) {
  std::vector<uint32_t> values;
  bool known = false;
  auto format = codedFormatFromVirtio(query.format);
  for (const auto& codec : backend_->capabilities()) {
    if (!format || codec.format != *format) continue;
    known = true;
    if (query.control == w::VIRTIO_VIDEO_CONTROL_PROFILE) {
      values.clear();
      for (codecs::CodecProfile p : codec.profiles) values.push_back(virtioFromProfile(p));
    }
    if (query.control == w::VIRTIO_VIDEO_CONTROL_LEVEL) {
      values.clear();
      for (codecs::CodecLevel l : codec.levels) values.push_back(virtioFromLevel(l));
    }
  }
  if (query.control != w::VIRTIO_VIDEO_CONTROL_PROFILE &&
      query.control != w::VIRTIO_VIDEO_CONTROL_LEVEL) {
    ++statistics_.errorResponses;
    return complete(tag, errorResponse(ErrorCode::kUnsupported, streamId));
  }
  if (!known) {
    ++statistics_.errorResponses;
    return complete(tag, errorResponse(ErrorCode::kInvalidParameter, streamId));
  }
  w::virtio_video_query_control_resp resp{};
  resp.hdr = {w::VIRTIO_VIDEO_RESP_OK_QUERY_CONTROL, streamId};
  resp.num = static_cast<uint32_t>(values.size());
  auto bytes = toBytes(resp);
  for (uint32_t value : values) appendWire(bytes, value);
  complete(tag, std::move(bytes));
}

void VideoDevice::processBackendEvents() {
  wake_.drain();
  for (auto& [id, stream] : streams_) stream->processSessionEvents();
}

void VideoDevice::reset() {
  for (auto& [id, stream] : streams_) stream->cancelAll();
  streams_.clear();
  completions_.clear();
  capacities_.clear();
  events_.clear();
  memory_.reset();
  resolver_ = nullptr;
  logs::device().info("device reset: all streams dropped");
}

}  // namespace vdec
