// SPDX-License-Identifier: MIT
#include "vdec/media/media_device.h"


#include <cerrno>

#include "vdec/base/logging.h"
#include "vdec/media/media_command.h"
#include "vdec/media/media_response.h"
#include "vdec/media/media_session.h"

namespace vdec::media {
namespace w = wire;

MediaDevice::MediaDevice(DeviceConfig config, std::shared_ptr<codecs::DecoderBackend> backend)
    : config_(std::move(config)),
      backend_(std::move(backend)),
      decoderSlots_(config_.maxDecodingStreams),
      memoryBudget_(MemoryBudget::create(config_.maxMemory)),
      context_{config_,
               *backend_,
               memory_,
               resolver_,
               statistics_,
               decoderSlots_,
               memoryBudget_,
               [this](uint64_t tag, std::vector<std::byte> response) {
                 complete(tag, std::move(response));
               },
               [this](std::vector<std::byte> event) { events_.push_back(std::move(event)); },
               wake_.signaller(),
               codecs::ThreadBudget::create(config_.decoderThreadBudget)} {}

MediaDevice::~MediaDevice() { sessions_.clear(); }

w::virtio_media_config MediaDevice::config() const {
  return mediaConfig(kDeviceCaps, kDeviceType, kCard);
}

void MediaDevice::setGuestMemory(std::shared_ptr<const buffers::GuestMemory> memory) {
  memory_ = std::move(memory);
}

void MediaDevice::setObjectResolver(buffers::ObjectResolver* resolver) { resolver_ = resolver; }

int MediaDevice::notifyFd() const { return wake_.fd(); }

void MediaDevice::complete(uint64_t tag, std::vector<std::byte> response) {
  auto capacity = capacities_.find(tag);
  if (capacity != capacities_.end()) {
    // Only CLOSE has no writable part, and a response header always fits otherwise (checked
    // before dispatch); cut what does not fit rather than overrun.
    if (response.size() > capacity->second) response.resize(capacity->second);
    capacities_.erase(capacity);
  }
  completions_.push_back({tag, std::move(response)});
}

std::vector<Completion> MediaDevice::takeCompletions() { return std::exchange(completions_, {}); }

std::vector<std::byte> MediaDevice::popEvent() {
  VDEC_CHECK(!events_.empty());
  auto event = std::move(events_.front());
  events_.pop_front();
  return event;
}

std::vector<std::byte> MediaDevice::outOfMemoryResponse(std::span<const std::byte>) const {
  return mediaStatusResponse(ENOMEM);
}

void MediaDevice::handleCommand(uint64_t tag, std::span<const std::byte> request,
                                size_t responseCapacity) {
  capacities_[tag] = responseCapacity;
  dispatch(tag, request, responseCapacity);
}

void MediaDevice::dispatch(uint64_t tag, std::span<const std::byte> request, size_t capacity) {
  w::virtio_media_cmd_header header{};
  auto command = parseMediaCommand(request, MediaCommandLimits{config_.maxEntriesPerResource},
                                   &header);
  if (!command) {
    logs::device().debug("bad virtio-media command {} ({} bytes): {}", header.cmd,
                         request.size(), command.error().message);
    ++statistics_.errorResponses;
    return complete(tag, mediaStatusResponse(mediaStatusFor(command.error())));
  }
  auto fail = [&](uint32_t status, const char* why) {
    logs::device().debug("{}: {}", mediaCommandName(command->type), why);
    ++statistics_.errorResponses;
    complete(tag, mediaStatusResponse(status));
  };
  if (std::holds_alternative<OpenCmd>(command->body)) {
    if (sessions_.size() >= config_.maxStreams) return fail(ENOMEM, "too many sessions");
    const uint32_t id = nextSessionId_++;
    sessions_[id] = std::make_unique<MediaSession>(context_, id);
    return complete(tag, mediaOpenResponse(id));
  }
  if (auto* close = std::get_if<CloseCmd>(&command->body)) {
    if (auto it = sessions_.find(close->sessionId); it != sessions_.end()) {
      it->second->close();
      sessions_.erase(it);
    }
    return complete(tag, {});  // CLOSE has no response; an unknown session is ignored
  }
  if (std::holds_alternative<MmapCmd>(command->body) ||
      std::holds_alternative<MunmapCmd>(command->body)) {
    return fail(ENOTTY, "no shared memory region: MMAP buffers are not supported");
  }
  const auto& ioctl = std::get<IoctlCmd>(command->body);
  auto it = sessions_.find(ioctl.sessionId);
  if (it == sessions_.end()) return fail(EINVAL, "no such session");
  if (capacity < sizeof(w::virtio_media_resp_ioctl) + ioctlResponsePayloadSize(ioctl)) {
    return fail(EINVAL, "response buffer too small for the ioctl's payload");
  }
  SPDLOG_LOGGER_DEBUG(&logs::device(), "media session {}: {}", ioctl.sessionId, ioctl.ioctl->name);
  auto reply = it->second->handleIoctl(tag, ioctl);
  if (!reply) return;  // answered later
  complete(tag, mediaIoctlResponse(reply->status, reply->payload));
}

void MediaDevice::processBackendEvents() {
  wake_.drain();
  for (auto& [id, session] : sessions_) session->processSessionEvents();
}

void MediaDevice::reset() {
  for (auto& [id, session] : sessions_) session->close();
  sessions_.clear();
  completions_.clear();
  capacities_.clear();
  events_.clear();
  memory_.reset();
  resolver_ = nullptr;
  logs::device().info("virtio-media device reset: all sessions dropped");
}

}  // namespace vdec::media
