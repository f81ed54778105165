// SPDX-License-Identifier: MIT
// VideoDevice: the virtio-video decoder device, independent of any transport.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "buffers/guest_memory.h"
#include "buffers/object_resolver.h"
#include "codecs/decoder_backend.h"
#include "vdec/base/wake_event.h"
#include "vdec/device_config.h"
#include "vdec/protocol/virtio_video.h"
#include "vdec/stream_context.h"

namespace vdec {

class Stream;

// A response ready for the command that carried `tag`.
struct Completion {
  uint64_t tag = 0;
  std::vector<std::byte> response;
};

// Threads: device thread only (the transport's loop). Decoding runs in the sessions' threads;
// they wake the device thread through notifyFd().
//
// The transport hands every command in with a tag that is unique while the command is pending
// (the descriptor head); answers come back from takeCompletions(), synchronous ones at once,
// asynchronous ones (RESOURCE_QUEUE, STREAM_DRAIN, QUEUE_CLEAR(INPUT)) later. Events wait in the
// device until the transport has an event buffer for them: none is dropped.
class VideoDevice {
 public:
  VideoDevice(DeviceConfig config, std::shared_ptr<codecs::DecoderBackend> backend);
  ~VideoDevice();
  VideoDevice(const VideoDevice&) = delete;
  VideoDevice& operator=(const VideoDevice&) = delete;

  // virtio feature bits of the device (VIRTIO_VIDEO_F_*), without transport bits.
  uint64_t deviceFeatures() const;
  wire::virtio_video_config config() const;

  // Borrows nothing: the device keeps its own shared_ptr to each memory table.
  void setGuestMemory(std::shared_ptr<const buffers::GuestMemory> memory);
  // Borrowed; must outlive the device or be reset to nullptr first.
  void setObjectResolver(buffers::ObjectResolver* resolver);

  // Parses and executes one command. `request` is a copy the caller owns. `responseCapacity` is
  // the size of the guest's writable buffer; a response that would not fit is an error.
  void handleCommand(uint64_t tag, std::span<const std::byte> request, size_t responseCapacity);

  // Readable when a decoder session has events; call processBackendEvents() then.
  int notifyFd() const;
  void processBackendEvents();

  std::vector<Completion> takeCompletions();
  bool hasPendingEvents() const { return !events_.empty(); }
  wire::virtio_video_event popEvent();

  // Drops every stream and pending command (front-end gone). Pending tags are forgotten.
  void reset();

  // Statistics, summed over all streams since start.
  using Statistics = DeviceStatistics;
  const Statistics& statistics() const { return statistics_; }

  // The daemon-wide memory budget (DeviceConfig::maxMemory), shared with the transport, which
  // charges pending command chains to it.
  const std::shared_ptr<MemoryBudget>& memoryBudget() const { return memoryBudget_; }
  // The protocol's answer to a command the device has no memory left to hold:
  // ERR_OUT_OF_MEMORY, shaped as that command's reply.
  std::vector<std::byte> outOfMemoryResponse(std::span<const std::byte> request) const;

 private:
  void complete(uint64_t tag, std::vector<std::byte> response);
  void queueEvent(uint32_t type, uint32_t streamId);
  void dispatch(uint64_t tag, std::span<const std::byte> request);
  void queryControl(uint64_t tag, uint32_t streamId, const struct QueryControlCmd& query);

  DeviceConfig config_;
  std::shared_ptr<codecs::DecoderBackend> backend_;
  std::shared_ptr<const buffers::GuestMemory> memory_;
  buffers::ObjectResolver* resolver_ = nullptr;
  // What the sessions signal (StreamContext::wakeDevice); declared before streams_ so that it
  // outlives every session thread.
  WakeEvent wake_;
  std::vector<Completion> completions_;
  std::map<uint64_t, size_t> capacities_;  // guest response buffer size per pending tag
  std::deque<wire::virtio_video_event> events_;
  Statistics statistics_;
  SlotCounter decoderSlots_;     // outlives streams_ (their slots)
  std::shared_ptr<MemoryBudget> memoryBudget_;
  StreamContext streamContext_;  // refers to the members above
  std::map<uint32_t, std::unique_ptr<Stream>> streams_;
};

}  // namespace vdec
