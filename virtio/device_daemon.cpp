// SPDX-License-Identifier: MIT
#include "virtio/device_daemon.h"

#include "vdec/base/wire.h"

namespace vdec::virtio {

std::vector<std::byte> VideoDeviceAdapter::configSpace() const {
  return toBytes(device_->config());
}

void VideoDeviceAdapter::setGuestMemory(std::shared_ptr<const buffers::GuestMemory> memory) {
  device_->setGuestMemory(std::move(memory));
}

void VideoDeviceAdapter::setObjectResolver(buffers::ObjectResolver* resolver) {
  device_->setObjectResolver(resolver);
}

void VideoDeviceAdapter::submitCommand(uint64_t tag, std::span<const std::byte> request,
                                       size_t responseCapacity) {
  device_->handleCommand(tag, request, responseCapacity);
}

std::vector<CommandEventDevice::Response> VideoDeviceAdapter::takeResponses() {
  std::vector<Response> responses;
  for (auto& completion : device_->takeCompletions()) {
    responses.push_back({completion.tag, std::move(completion.response)});
  }
  return responses;
}

std::vector<std::byte> VideoDeviceAdapter::popEvent() { return toBytes(device_->popEvent()); }

}  // namespace vdec::virtio
