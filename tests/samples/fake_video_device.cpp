// SPDX-License-Identifier: MIT
#include "tests/samples/fake_video_device.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <memory>
#include <optional>

#include "samples/harness/vhost_user_message.h"
#include "tests/samples/test_ring_device.h"
#include "vdec/base/mapped_region.h"
#include "vdec/base/wire.h"
#include "vdec/protocol/virtio_video.h"
#include "virtio/vhost_user_protocol.h"

namespace vdec::harness::testing {
namespace {

using namespace vhost;  // NOLINT(google-build-using-namespace)
using namespace wire;   // NOLINT(google-build-using-namespace)

struct Ring {
  uint32_t size = 0;
  VhostUserVringAddr addr{};
  UniqueFd kick;
  UniqueFd call;
  bool enabled = false;
  std::unique_ptr<TestRingDevice> device;
};

void signal(const Ring& ring) {
  const uint64_t one = 1;
  ssize_t n = ::write(ring.call.get(), &one, sizeof(one));
  (void)n;
}

template <typename T>
void put(std::vector<std::byte>& out, const T& value) {
  appendWire(out, value);
}

}  // namespace

FakeVideoDevice::FakeVideoDevice(std::string socketPath, bool silentClear)
    : path_(std::move(socketPath)), silentClear_(silentClear) {
  listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
  ::unlink(path_.c_str());
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listener_.get(), 1) != 0) {
    std::abort();
  }
  wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  thread_ = std::thread([this] { run(); });
}

FakeVideoDevice::~FakeVideoDevice() {
  if (thread_.joinable()) (void)stop();
  ::unlink(path_.c_str());
}

FakeDeviceLog FakeVideoDevice::stop() {
  const uint64_t one = 1;
  ssize_t n = ::write(wake_.get(), &one, sizeof(one));
  (void)n;
  thread_.join();
  return std::move(log_);
}

void FakeVideoDevice::run() {
  pollfd first[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
  if (::poll(first, 2, -1) <= 0 || (first[1].revents & POLLIN)) return;
  UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  MappedRegion memory;
  uint64_t gpaBase = 0;
  uint64_t userBase = 0;
  Ring rings[2];
  UniqueFd channel;
  std::deque<DeviceChain> events;
  std::vector<uint16_t> held;
  bool sentResolution = false;
  bool sawEvents = false;

  auto host = [&](uint64_t user) { return memory.data() + (user - userBase); };
  auto translate = [&](uint64_t gpa, uint64_t len) {
    return memory.bytes().subspan(gpa - gpaBase, len);
  };
  auto sendEvent = [&](uint32_t type, uint32_t stream) {
    if (events.empty()) return;
    DeviceChain chain = events.front();
    events.pop_front();
    const virtio_video_event ev{type, stream};
    std::memcpy(translate(chain.descs[0].gpa, sizeof(ev)).data(), &ev, sizeof(ev));
    rings[1].device->pushUsed(chain.head, sizeof(ev));
    signal(rings[1]);
  };

  auto handleCommand = [&](const DeviceChain& chain) {
    std::vector<std::byte> request;
    std::vector<std::byte> extra;
    DeviceDesc response{};
    int readable = 0;
    for (const auto& d : chain.descs) {
      if (d.writable) {
        if (response.len == 0) response = d;
        continue;
      }
      auto bytes = translate(d.gpa, d.len);
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
        put(out, virtio_video_query_capability_resp{{VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY, 0}, 1});
        put(out, virtio_video_format_desc{1, VIRTIO_VIDEO_FORMAT_H264, 1, 1, 1});
        put(out, virtio_video_format_frame{{16, 4096, 2}, {16, 2304, 2}, 0});
        break;
      }
      case VIRTIO_VIDEO_CMD_STREAM_CREATE: {
        auto create = readWire<virtio_video_stream_create>(request);
        if (create) {
          log_.streamInMem = create->in_mem_type;
          log_.streamOutMem = create->out_mem_type;
          log_.streamTag = reinterpret_cast<const char*>(create->tag);
        }
        put(out, ok);
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
        put(out, resp);
        break;
      }
      case VIRTIO_VIDEO_CMD_GET_CONTROL:
        put(out, virtio_video_get_control_resp{{VIRTIO_VIDEO_RESP_OK_GET_CONTROL, 0}, 0x101});
        break;
      case VIRTIO_VIDEO_CMD_RESOURCE_CREATE: {
        auto create = readWire<virtio_video_resource_create>(request);
        if (create) log_.createNumPlanes = create->num_planes;
        log_.objectEntry.assign(reinterpret_cast<const uint8_t*>(extra.data()),
                                reinterpret_cast<const uint8_t*>(extra.data()) + extra.size());
        put(out, ok);
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
        put(out, resp);
        if (!sentResolution) {
          sentResolution = true;
          sendEvent(VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED, hdr.stream_id);
        }
        break;
      }
      case VIRTIO_VIDEO_CMD_QUEUE_CLEAR:
        if (silentClear_) {
          held.push_back(chain.head);
          return;
        }
        put(out, ok);
        break;
      case VIRTIO_VIDEO_CMD_STREAM_DESTROY:
        put(out, hdr.stream_id == 99
                     ? virtio_video_cmd_hdr{VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID, 0}
                     : ok);
        break;
      default:
        put(out, ok);
    }
    const size_t n = std::min<size_t>(out.size(), response.len);
    std::memcpy(translate(response.gpa, n).data(), out.data(), n);
    rings[0].device->pushUsed(chain.head, static_cast<uint32_t>(n));
    signal(rings[0]);
  };

  for (;;) {
    pollfd fds[4] = {{conn.get(), POLLIN, 0},
                     {wake_.get(), POLLIN, 0},
                     {rings[0].device ? rings[0].kick.get() : -1, POLLIN, 0},
                     {rings[1].device ? rings[1].kick.get() : -1, POLLIN, 0}};
    if (::poll(fds, 4, -1) < 0) return;
    if (fds[1].revents & POLLIN) return;
    if (fds[0].revents) {
      auto message = receiveVhostUserMessage(conn.get(), std::chrono::milliseconds(1000));
      if (!message) return;
      const uint32_t request = message->header.request;
      std::vector<std::byte> reply;
      auto index = [&] { return readWire<uint32_t>(message->payload).value_or(0) & 1; };
      switch (request) {
        case VHOST_USER_GET_FEATURES:
          reply = toBytes<uint64_t>((1ull << 32) | (1ull << 30) | (1ull << 28) | 0x7);
          break;
        case VHOST_USER_GET_PROTOCOL_FEATURES:
          reply = toBytes<uint64_t>(0x42629);
          break;
        case VHOST_USER_GET_QUEUE_NUM:
          reply = toBytes<uint64_t>(2);
          break;
        case VHOST_USER_GET_CONFIG: {
          reply = message->payload;
          const virtio_video_config config{0, 4096, 4096, {'f', 'a', 'k', 'e'}};
          if (reply.size() == 12 + sizeof(config)) {
            std::memcpy(reply.data() + 12, &config, sizeof(config));
          }
          break;
        }
        case VHOST_USER_SET_BACKEND_REQ_FD:
          if (!message->fds.empty()) channel = std::move(message->fds[0]);
          break;
        case VHOST_USER_SET_MEM_TABLE: {
          auto region = readWire<VhostUserMemoryRegion>(message->payload, 8);
          if (!region || message->fds.empty()) return;
          auto mapped = MappedRegion::map(message->fds[0].get(), region->memory_size, 0);
          if (!mapped) return;
          memory = std::move(*mapped);
          gpaBase = region->guest_phys_addr;
          userBase = region->userspace_addr;
          break;
        }
        case VHOST_USER_SET_VRING_NUM:
          rings[index()].size = readWire<VhostUserVringState>(message->payload)->num;
          break;
        case VHOST_USER_SET_VRING_ADDR:
          rings[index()].addr = *readWire<VhostUserVringAddr>(message->payload);
          break;
        case VHOST_USER_SET_VRING_KICK:
          rings[index()].kick = std::move(message->fds.at(0));
          break;
        case VHOST_USER_SET_VRING_CALL:
          rings[index()].call = std::move(message->fds.at(0));
          break;
        case VHOST_USER_SET_VRING_ENABLE: {
          Ring& ring = rings[index()];
          ring.enabled = true;
          ring.device = std::make_unique<TestRingDevice>(translate, host(ring.addr.desc_user_addr),
                                                         host(ring.addr.avail_user_addr),
                                                         host(ring.addr.used_user_addr), ring.size);
          break;
        }
        default:
          break;
      }
      if (reply.empty() && (message->header.flags & VHOST_USER_NEED_REPLY_MASK)) {
        reply = toBytes<uint64_t>(0);
      }
      if (!reply.empty() && !sendVhostUserMessage(conn.get(), request, 0x5, reply)) return;
    }
    if (fds[3].revents & POLLIN) {
      uint64_t count;
      ssize_t n = ::read(rings[1].kick.get(), &count, sizeof(count));
      (void)n;
      while (auto chain = rings[1].device->popAvail()) events.push_back(*chain);
      if (!sawEvents) {
        sawEvents = true;
        log_.eventBuffersAtStart = static_cast<uint32_t>(events.size());
      }
    }
    if (fds[2].revents & POLLIN) {
      uint64_t count;
      ssize_t n = ::read(rings[0].kick.get(), &count, sizeof(count));
      (void)n;
      while (auto chain = rings[0].device->popAvail()) handleCommand(*chain);
    }
  }
}

}  // namespace vdec::harness::testing
