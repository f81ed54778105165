// SPDX-License-Identifier: MIT
// MediaDevice: the virtio-media (device id 48) decoder device, independent of any transport.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "buffers/guest_memory.h"
#include "buffers/object_resolver.h"
#include "codecs/decoder_backend.h"
#include "vdec/base/wake_event.h"
#include "vdec/device_config.h"
#include "vdec/media/media_session_context.h"
#include "vdec/protocol/virtio_media.h"
#include "vdec/video_device.h"

namespace vdec::media {

class MediaSession;

// Threads: device thread only (the transport's loop). Decoding runs in the sessions' threads;
// they wake the device thread through notifyFd().
//
// Commands come in with a tag unique while pending (the descriptor head) and the size of the
// chain's writable part; answers come back from takeCompletions(), most at once, a STREAMOFF
// (CAPTURE) once the decoder gave its buffers back. CLOSE has no writable part: it completes
// with an empty response. Events (DQBUF, EVENT, ERROR) wait in the device until the transport
// has an event buffer: none is dropped (they are bounded by the sessions' buffers).
// Session ids come from a counter and are never reused.
class MediaDevice {
 public:
  // V4L2_CAP_VIDEO_M2M_MPLANE | V4L2_CAP_STREAMING
  static constexpr uint32_t kDeviceCaps = 0x00004000 | 0x04000000;
  static constexpr uint32_t kDeviceType = 0;  // VFL_TYPE_VIDEO
  static constexpr const char* kCard = "vdec";

  MediaDevice(DeviceConfig config, std::shared_ptr<codecs::DecoderBackend> backend);
  ~MediaDevice();
  MediaDevice(const MediaDevice&) = delete;
  MediaDevice& operator=(const MediaDevice&) = delete;

  wire::virtio_media_config config() const;

  void setGuestMemory(std::shared_ptr<const buffers::GuestMemory> memory);
  // Borrowed; must outlive the device or be reset to nullptr first.
  void setObjectResolver(buffers::ObjectResolver* resolver);

  // Parses and executes one command; `request` is a copy the caller owns.
  void handleCommand(uint64_t tag, std::span<const std::byte> request, size_t responseCapacity);

  int notifyFd() const;
  void processBackendEvents();

  std::vector<Completion> takeCompletions();
  bool hasPendingEvents() const { return !events_.empty(); }
  std::vector<std::byte> popEvent();

  // Drops every session and pending command (front-end gone).
  void reset();

  size_t sessionCount() const { return sessions_.size(); }
  const DeviceStatistics& statistics() const { return statistics_; }
  const std::shared_ptr<MemoryBudget>& memoryBudget() const { return memoryBudget_; }
  // The answer to a command the transport cannot keep: ENOMEM.
  std::vector<std::byte> outOfMemoryResponse(std::span<const std::byte> request) const;

 private:
  void complete(uint64_t tag, std::vector<std::byte> response);
  void dispatch(uint64_t tag, std::span<const std::byte> request, size_t capacity);

  DeviceConfig config_;
  std::shared_ptr<codecs::DecoderBackend> backend_;
  std::shared_ptr<const buffers::GuestMemory> memory_;
  buffers::ObjectResolver* resolver_ = nullptr;
  WakeEvent wake_;  // what the sessions signal; before sessions_: outlives every session thread
  std::vector<Completion> completions_;
  std::map<uint64_t, size_t> capacities_;  // writable bytes per pending tag
  std::deque<std::vector<std::byte>> events_;
  DeviceStatistics statistics_;
  SlotCounter decoderSlots_;
  std::shared_ptr<MemoryBudget> memoryBudget_;
  MediaSessionContext context_;
  uint32_t nextSessionId_ = 0;
  std::map<uint32_t, std::unique_ptr<MediaSession>> sessions_;
};

}  // namespace vdec::media
