// SPDX-License-Identifier: MIT
#include "tests/samples/fake_media_device.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include <cstring>
#include <deque>
#include <memory>
#include <optional>

#include "samples/harness/vhost_user_message.h"
#include "tests/samples/test_ring_device.h"
#include "vdec/base/mapped_region.h"
#include "vdec/base/wire.h"
#include "vdec/protocol/virtio_media.h"
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

FakeMediaDevice::FakeMediaDevice(std::string socketPath, uint32_t eventsPerIoctl)
    : path_(std::move(socketPath)), eventsPerIoctl_(eventsPerIoctl) {
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

FakeMediaDevice::~FakeMediaDevice() {
  if (thread_.joinable()) (void)stop();
  ::unlink(path_.c_str());
}

FakeMediaLog FakeMediaDevice::stop() {
  const uint64_t one = 1;
  ssize_t n = ::write(wake_.get(), &one, sizeof(one));
  (void)n;
  thread_.join();
  return std::move(log_);
}

void FakeMediaDevice::run() {
  pollfd first[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
  if (::poll(first, 2, -1) <= 0 || (first[1].revents & POLLIN)) return;
  UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  MappedRegion memory;
  uint64_t gpaBase = 0;
  uint64_t userBase = 0;
  Ring rings[2];
  std::deque<DeviceChain> buffers;               // posted eventq buffers
  std::deque<std::vector<std::byte>> pending;    // events waiting for a buffer
  bool sawCommand = false;

  auto host = [&](uint64_t user) { return memory.data() + (user - userBase); };
  auto translate = [&](uint64_t gpa, uint64_t len) {
    return memory.bytes().subspan(gpa - gpaBase, len);
  };
  auto flushEvents = [&] {
    bool sent = false;
    while (!pending.empty() && !buffers.empty()) {
      const DeviceChain chain = buffers.front();
      buffers.pop_front();
      const auto& ev = pending.front();
      const size_t n = std::min<size_t>(ev.size(), chain.descs[0].len);
      std::memcpy(translate(chain.descs[0].gpa, n).data(), ev.data(), n);
      rings[1].device->pushUsed(chain.head, static_cast<uint32_t>(n));
      pending.pop_front();
      sent = true;
    }
    if (sent) signal(rings[1]);
  };
  auto v4l2Event = [](uint32_t session, uint32_t type) {
    virtio_media_event_event ev{};
    ev.hdr = {VIRTIO_MEDIA_EVT_EVENT, session};
    ev.event.type = type;
    return toBytes(ev);
  };

  auto handleCommand = [&](const DeviceChain& chain) {
    sawCommand = true;
    std::vector<std::byte> request;
    DeviceDesc response{};
    size_t writable = 0;
    for (const auto& d : chain.descs) {
      if (d.writable) {
        if (response.len == 0) response = d;
        writable += d.len;
        continue;
      }
      auto bytes = translate(d.gpa, d.len);
      request.insert(request.end(), bytes.begin(), bytes.end());
    }
    auto hdr = readWire<virtio_media_cmd_header>(request).value_or(virtio_media_cmd_header{});
    log_.commands.push_back(hdr.cmd);
    log_.writableSizes.push_back(writable);
    std::vector<std::byte> out;
    switch (hdr.cmd) {
      case VIRTIO_MEDIA_CMD_OPEN: {
        put(out, virtio_media_resp_open{{0, 0}, 5, 0});
        pending.push_back(std::vector<std::byte>(4));
        pending.push_back(v4l2Event(77, V4L2_EVENT_EOS));
        auto dqbuf = toBytes(virtio_media_event_dqbuf{{VIRTIO_MEDIA_EVT_DQBUF, 5}, {}, {}});
        dqbuf.resize(16);
        pending.push_back(std::move(dqbuf));
        break;
      }
      case VIRTIO_MEDIA_CMD_IOCTL:
        put(out, virtio_media_resp_ioctl{{0, 0}});
        for (uint32_t i = 0; i < eventsPerIoctl_; ++i)
          pending.push_back(v4l2Event(5, V4L2_EVENT_EOS));
        break;
      default:
        break;  // CLOSE: nothing to write
    }
    const size_t n = std::min<size_t>(out.size(), response.len);
    if (n > 0) std::memcpy(translate(response.gpa, n).data(), out.data(), n);
    rings[0].device->pushUsed(chain.head, static_cast<uint32_t>(n));
    signal(rings[0]);
    flushEvents();
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
          reply = toBytes<uint64_t>((1ull << 32) | (1ull << 30) | (1ull << 28));
          break;
        case VHOST_USER_GET_PROTOCOL_FEATURES:
          reply = toBytes<uint64_t>(0x42629);
          break;
        case VHOST_USER_GET_QUEUE_NUM:
          reply = toBytes<uint64_t>(2);
          break;
        case VHOST_USER_GET_CONFIG: {
          reply = message->payload;
          const virtio_media_config config{0x04004000, 0, {'f', 'a', 'k', 'e'}};
          if (reply.size() == 12 + sizeof(config)) {
            std::memcpy(reply.data() + 12, &config, sizeof(config));
          }
          break;
        }
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
      while (auto chain = rings[1].device->popAvail()) {
        buffers.push_back(*chain);
        ++log_.eventBuffersSeen;
      }
      if (!sawCommand) log_.eventBuffersAtStart = static_cast<uint32_t>(buffers.size());
      flushEvents();
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
