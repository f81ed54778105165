// SPDX-License-Identifier: MIT
// VideoDeviceAdapter: serves a vdec::VideoDevice through the generic virtio transport.
#pragma once

#include <memory>

#include "vdec/video_device.h"
#include "virtio/command_event_device.h"

namespace vdec::virtio {

// Queue 0 = virtio-video commandq, queue 1 = eventq. Owns the VideoDevice. Thread: the
// server's loop thread; the device's decoder threads wake it through notifyFd().
class VideoDeviceAdapter : public CommandEventDevice {
 public:
  static constexpr uint16_t kMaxQueueSize = 1024;

  // Pending command chains are charged to the device's memory budget.
  explicit VideoDeviceAdapter(std::unique_ptr<VideoDevice> device)
      : CommandEventDevice(kDefaultMaxRequestBytes, device->memoryBudget()),
        device_(std::move(device)) {}

  uint64_t features() const override { return device_->deviceFeatures(); }
  std::vector<std::byte> configSpace() const override;
  uint16_t maxQueueSize() const override { return kMaxQueueSize; }
  void setGuestMemory(std::shared_ptr<const buffers::GuestMemory> memory) override;
  void setObjectResolver(buffers::ObjectResolver* resolver) override;
  int notifyFd() const override { return device_->notifyFd(); }

  [[nodiscard]] const VideoDevice& device() const { return *device_; }

 protected:
  void submitCommand(uint64_t tag, std::span<const std::byte> request,
                     size_t responseCapacity) override;
  std::vector<Response> takeResponses() override;
  bool hasPendingEvent() const override { return device_->hasPendingEvents(); }
  std::vector<std::byte> popEvent() override;
  void processNotify() override { device_->processBackendEvents(); }
  void resetDevice() override { device_->reset(); }
  std::vector<std::byte> rejectedResponse(std::span<const std::byte> request) override {
    return device_->outOfMemoryResponse(request);
  }

 private:
  std::unique_ptr<VideoDevice> device_;
};

}  // namespace vdec::virtio
