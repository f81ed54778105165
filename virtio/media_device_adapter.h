// SPDX-License-Identifier: MIT
// MediaDeviceAdapter: serves a vdec::media::MediaDevice (virtio-media) through the generic
// virtio transport.
#pragma once

#include <memory>

#include "vdec/media/media_device.h"
#include "virtio/command_event_device.h"

namespace vdec::virtio {

// Queue 0 = virtio-media commandq, queue 1 = eventq. Owns the MediaDevice. CLOSE chains have no
// writable part and still reach the device. Thread: the server's loop thread; the device's
// decoder threads wake it through notifyFd().
class MediaDeviceAdapter : public CommandEventDevice {
 public:
  static constexpr uint16_t kMaxQueueSize = 1024;

  explicit MediaDeviceAdapter(std::unique_ptr<media::MediaDevice> device)
      : CommandEventDevice(kDefaultMaxRequestBytes, device->memoryBudget()),
        device_(std::move(device)) {}

  uint64_t features() const override { return 0; }  // virtio-media defines no feature bits
  std::vector<std::byte> configSpace() const override;
  uint16_t maxQueueSize() const override { return kMaxQueueSize; }
  void setGuestMemory(std::shared_ptr<const buffers::GuestMemory> memory) override {
    device_->setGuestMemory(std::move(memory));
  }
  void setObjectResolver(buffers::ObjectResolver* resolver) override {
    device_->setObjectResolver(resolver);
  }
  int notifyFd() const override { return device_->notifyFd(); }

  [[nodiscard]] const media::MediaDevice& device() const { return *device_; }

 protected:
  void submitCommand(uint64_t tag, std::span<const std::byte> request,
                     size_t responseCapacity) override {
    device_->handleCommand(tag, request, responseCapacity);
  }
  std::vector<Response> takeResponses() override;
  bool hasPendingEvent() const override { return device_->hasPendingEvents(); }
  std::vector<std::byte> popEvent() override { return device_->popEvent(); }
  void processNotify() override { device_->processBackendEvents(); }
  void resetDevice() override { device_->reset(); }
  bool acceptsCommandsWithoutResponse() const override { return true; }
  std::vector<std::byte> rejectedResponse(std::span<const std::byte> request) override {
    return device_->outOfMemoryResponse(request);
  }

 private:
  std::unique_ptr<media::MediaDevice> device_;
};

}  // namespace vdec::virtio
