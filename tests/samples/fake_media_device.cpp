// SPDX-License-Identifier: MIT
#include "tests/samples/fake_media_device.h"

#include <linux/videodev2.h>

#include <algorithm>
#include <cstring>

#include "vdec/base/wire.h"
#include "vdec/protocol/virtio_media.h"

namespace vdec::harness::testing {
namespace {

using namespace wire;  // NOLINT(google-build-using-namespace)

std::vector<std::byte> v4l2Event(uint32_t session, uint32_t type) {
  virtio_media_event_event ev{};
  ev.hdr = {VIRTIO_MEDIA_EVT_EVENT, session};
  ev.event.type = type;
  return toBytes(ev);
}

}  // namespace

FakeMediaDevice::FakeMediaDevice(std::string socketPath, uint32_t eventsPerIoctl)
    : eventsPerIoctl_(eventsPerIoctl),
      vhost_(
          std::move(socketPath),
          {.features = (1ull << 32) | (1ull << 30) | (1ull << 28),
           .config = toBytes(virtio_media_config{0x04004000, 0, {'f', 'a', 'k', 'e'}}),
           .onCommand = [this](const DeviceChain& chain) { handleCommand(chain); },
           .onEventBuffers =
               [this](std::vector<DeviceChain> chains) { takeEventBuffers(std::move(chains)); }}) {}

FakeMediaLog FakeMediaDevice::stop() {
  vhost_.stop();
  return std::move(log_);
}

void FakeMediaDevice::flushEvents() {
  bool sent = false;
  while (!pending_.empty() && !buffers_.empty()) {
    const DeviceChain chain = buffers_.front();
    buffers_.pop_front();
    const auto& ev = pending_.front();
    const size_t n = std::min<size_t>(ev.size(), chain.descs[0].len);
    std::memcpy(vhost_.translate(chain.descs[0].gpa, n).data(), ev.data(), n);
    vhost_.pushUsed(1, chain.head, static_cast<uint32_t>(n));
    pending_.pop_front();
    sent = true;
  }
  if (sent) vhost_.signal(1);
}

void FakeMediaDevice::takeEventBuffers(std::vector<DeviceChain> chains) {
  for (auto& chain : chains) {
    buffers_.push_back(std::move(chain));
    ++log_.eventBuffersSeen;
  }
  if (!sawCommand_) log_.eventBuffersAtStart = static_cast<uint32_t>(buffers_.size());
  flushEvents();
}

void FakeMediaDevice::handleCommand(const DeviceChain& chain) {
  sawCommand_ = true;
  std::vector<std::byte> request;
  DeviceDesc response{};
  size_t writable = 0;
  for (const auto& d : chain.descs) {
    if (d.writable) {
      if (response.len == 0) response = d;
      writable += d.len;
      continue;
    }
    auto bytes = vhost_.translate(d.gpa, d.len);
    request.insert(request.end(), bytes.begin(), bytes.end());
  }
  auto hdr = readWire<virtio_media_cmd_header>(request).value_or(virtio_media_cmd_header{});
  log_.commands.push_back(hdr.cmd);
  log_.writableSizes.push_back(writable);
  std::vector<std::byte> out;
  switch (hdr.cmd) {
    case VIRTIO_MEDIA_CMD_OPEN: {
      appendWire(out, virtio_media_resp_open{{0, 0}, 5, 0});
      pending_.push_back(std::vector<std::byte>(4));
      pending_.push_back(v4l2Event(77, V4L2_EVENT_EOS));
      auto dqbuf = toBytes(virtio_media_event_dqbuf{{VIRTIO_MEDIA_EVT_DQBUF, 5}, {}, {}});
      dqbuf.resize(16);
      pending_.push_back(std::move(dqbuf));
      break;
    }
    case VIRTIO_MEDIA_CMD_IOCTL:
      appendWire(out, virtio_media_resp_ioctl{{0, 0}});
      for (uint32_t i = 0; i < eventsPerIoctl_; ++i) {
        pending_.push_back(v4l2Event(5, V4L2_EVENT_EOS));
      }
      break;
    default:
      break;  // CLOSE: nothing to write
  }
  vhost_.respond(0, chain.head, response, out);
  flushEvents();
}

}  // namespace vdec::harness::testing
