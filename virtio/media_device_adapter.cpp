// SPDX-License-Identifier: MIT
#include "virtio/media_device_adapter.h"

#include "vdec/base/wire.h"

namespace vdec::virtio {

std::vector<std::byte> MediaDeviceAdapter::configSpace() const {
  return toBytes(device_->config());
}

std::vector<CommandEventDevice::Response> MediaDeviceAdapter::takeResponses() {
  std::vector<Response> responses;
  for (auto& completion : device_->takeCompletions()) {
    responses.push_back({completion.tag, std::move(completion.response)});
  }
  return responses;
}

}  // namespace vdec::virtio
