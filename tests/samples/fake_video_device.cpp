// SPDX-License-Identifier: MIT
#include "tests/samples/fake_video_device.h"

#include <cstring>

#include "vdec/base/wire.h"
#include "vdec/protocol/virtio_video.h"

namespace vdec::harness::testing {

using namespace wire;  // NOLINT(google-build-using-namespace)

FakeVideoDevice::FakeVideoDevice(std::string socketPath, bool silentClear)
    : silentClear_(silentClear),
      vhost_(
          std::move(socketPath),
          {.features = (1ull << 32) | (1ull << 30) | (1ull << 28) | 0x7,
           .config = toBytes(virtio_video_config{0, 4096, 4096, {'f', 'a', 'k', 'e'}}),
           .holdBackendChannel = true,
           .onCommand = [this](const DeviceChain& chain) { handleCommand(chain); },
           .onEventBuffers =
               [this](std::vector<DeviceChain> chains) { takeEventBuffers(std::move(chains)); }}) {}

FakeDeviceLog FakeVideoDevice::stop() {
  vhost_.stop();
  return std::move(log_);
}

void FakeVideoDevice::sendEvent(uint32_t type, uint32_t stream) {
  if (events_.empty()) return;
  DeviceChain chain = events_.front();
  events_.pop_front();
  const virtio_video_event ev{type, stream};
  std::memcpy(vhost_.translate(chain.descs[0].gpa, sizeof(ev)).data(), &ev, sizeof(ev));
  vhost_.pushUsed(1, chain.head, sizeof(ev));
  vhost_.signal(1);
}

void FakeVideoDevice::takeEventBuffers(std::vector<DeviceChain> chains) {
  for (auto& chain : chains) events_.push_back(std::move(chain));
  if (!sawEvents_) {
    sawEvents_ = true;
    log_.eventBuffersAtStart = static_cast<uint32_t>(events_.size());
  }
}

void FakeVideoDevice::handleCommand(const DeviceChain& chain) {
  std::vector<std::byte> request;
  std::vector<std::byte> extra;
  DeviceDesc response{};
  int readable = 0;
  for (const auto& d : chain.descs) {
    if (d.writable) {
      if (response.len == 0) response = d;
      continue;
    }
    auto bytes = vhost_.translate(d.gpa, d.len);
    (readable++ == 0 ? request : extra).assign(bytes.begin(), bytes.end());
  }
  auto hdr = readWire<virtio_video_cmd_hdr>(request).value_or(virtio_video_cmd_hdr{});
  log_.commands.push_back(hdr.type);
  log_.indirect.push_back(chain.indirect);
  log_.descriptors.push_back(chain.descs.size());
  log_.responseSizes.push_back(response.len);
  std::vector<std::byte> out;
  const virtio_video_cmd_hdr ok{VIRTIO_VIDEO_RESP_OK_NODATA, hdr.stream_id};
  switch (hdr.type) {
    case VIRTIO_VIDEO_CMD_QUERY_CAPABILITY: {
      appendWire(out,
                 virtio_video_query_capability_resp{{VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY, 0}, 1});
      appendWire(out, virtio_video_format_desc{1, VIRTIO_VIDEO_FORMAT_H264, 1, 1, 1});
      appendWire(out, virtio_video_format_frame{{16, 4096, 2}, {16, 2304, 2}, 0});
      break;
    }
    case VIRTIO_VIDEO_CMD_STREAM_CREATE: {
      auto create = readWire<virtio_video_stream_create>(request);
      if (create) {
        log_.streamInMem = create->in_mem_type;
        log_.streamOutMem = create->out_mem_type;
        log_.streamTag = reinterpret_cast<const char*>(create->tag);
      }
      appendWire(out, ok);
      break;
    }
    case VIRTIO_VIDEO_CMD_GET_PARAMS_EXT: {
      auto cmd = readWire<virtio_video_queue_cmd>(request).value_or(virtio_video_queue_cmd{});
      virtio_video_get_params_ext_resp resp{};
      resp.hdr = {VIRTIO_VIDEO_RESP_OK_GET_PARAMS, hdr.stream_id};
      resp.params.base.queue_type = cmd.queue_type;
      resp.params.base.format = VIRTIO_VIDEO_FORMAT_NV12;
      resp.params.base.frame_width = 320;
      resp.params.base.frame_height = 240;
      appendWire(out, resp);
      break;
    }
    case VIRTIO_VIDEO_CMD_GET_CONTROL:
      appendWire(out, virtio_video_get_control_resp{{VIRTIO_VIDEO_RESP_OK_GET_CONTROL, 0}, 0x101});
      break;
    case VIRTIO_VIDEO_CMD_RESOURCE_CREATE: {
      auto create = readWire<virtio_video_resource_create>(request);
      if (create) log_.createNumPlanes = create->num_planes;
      log_.objectEntry.assign(reinterpret_cast<const uint8_t*>(extra.data()),
                              reinterpret_cast<const uint8_t*>(extra.data()) + extra.size());
      appendWire(out, ok);
      break;
    }
    case VIRTIO_VIDEO_CMD_RESOURCE_QUEUE: {
      auto queue = readWire<virtio_video_resource_queue>(request);
      virtio_video_resource_queue_resp resp{};
      resp.hdr = {VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE, hdr.stream_id};
      resp.timestamp = queue ? queue->timestamp : 0;
      const bool output = queue && queue->queue_type == VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
      resp.flags = output ? uint32_t{VIRTIO_VIDEO_BUFFER_FLAG_EOS} : uint32_t{0};
      resp.size = queue ? queue->data_sizes[0] : 0;
      appendWire(out, resp);
      if (!sentResolution_) {
        sentResolution_ = true;
        sendEvent(VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED, hdr.stream_id);
      }
      break;
    }
    case VIRTIO_VIDEO_CMD_QUEUE_CLEAR:
      if (silentClear_) {
        held_.push_back(chain.head);
        return;
      }
      appendWire(out, ok);
      break;
    case VIRTIO_VIDEO_CMD_STREAM_DESTROY:
      appendWire(out, hdr.stream_id == 99
                          ? virtio_video_cmd_hdr{VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID, 0}
                          : ok);
      break;
    default:
      appendWire(out, ok);
  }
  vhost_.respond(0, chain.head, response, out);
}

}  // namespace vdec::harness::testing
