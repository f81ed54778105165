// SPDX-License-Identifier: MIT
#include "tests/samples/fake_vhost_device.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>

#include "samples/harness/vhost_user_message.h"
#include "vdec/base/mapped_region.h"
#include "vdec/base/wire.h"
#include "virtio/vhost_user_protocol.h"

namespace vdec::harness::testing {

using namespace vhost;  // NOLINT(google-build-using-namespace)

namespace {

struct Ring {
  uint32_t size = 0;
  VhostUserVringAddr addr{};
  UniqueFd kick;
  UniqueFd call;
  bool enabled = false;
  std::unique_ptr<TestRingDevice> device;
};

}  // namespace

// Members are closed in reverse order when run() returns: the rings' fds, guest RAM, the socket.
struct FakeVhostDevice::Connection {
  UniqueFd socket;
  MappedRegion memory;
  uint64_t gpaBase = 0;
  uint64_t userBase = 0;
  Ring rings[2];
  UniqueFd channel;  // SET_BACKEND_REQ_FD's, when held
};

FakeVhostDevice::FakeVhostDevice(std::string socketPath, Device device)
    : path_(std::move(socketPath)), device_(std::move(device)) {
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

FakeVhostDevice::~FakeVhostDevice() {
  if (thread_.joinable()) stop();
  ::unlink(path_.c_str());
}

void FakeVhostDevice::stop() {
  const uint64_t one = 1;
  ssize_t n = ::write(wake_.get(), &one, sizeof(one));
  (void)n;
  thread_.join();
}

std::span<std::byte> FakeVhostDevice::translate(uint64_t gpa, uint64_t length) {
  return connection_->memory.bytes().subspan(gpa - connection_->gpaBase, length);
}

void FakeVhostDevice::pushUsed(uint32_t queue, uint16_t head, uint32_t length) {
  connection_->rings[queue].device->pushUsed(head, length);
}

void FakeVhostDevice::signal(uint32_t queue) {
  const uint64_t one = 1;
  ssize_t n = ::write(connection_->rings[queue].call.get(), &one, sizeof(one));
  (void)n;
}

void FakeVhostDevice::respond(uint32_t queue, uint16_t head, const DeviceDesc& into,
                              std::span<const std::byte> bytes) {
  const size_t n = std::min<size_t>(bytes.size(), into.len);
  if (n > 0) std::memcpy(translate(into.gpa, n).data(), bytes.data(), n);
  pushUsed(queue, head, static_cast<uint32_t>(n));
  signal(queue);
}

void FakeVhostDevice::run() {
  pollfd first[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
  if (::poll(first, 2, -1) <= 0 || (first[1].revents & POLLIN)) return;
  Connection connection;
  connection.socket = UniqueFd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  connection_ = &connection;
  serve(connection);
  connection_ = nullptr;
}

void FakeVhostDevice::serve(Connection& c) {
  auto host = [&](uint64_t user) { return c.memory.data() + (user - c.userBase); };
  auto translateHook = [this](uint64_t gpa, uint64_t len) { return translate(gpa, len); };
  Ring* rings = c.rings;

  for (;;) {
    pollfd fds[4] = {{c.socket.get(), POLLIN, 0},
                     {wake_.get(), POLLIN, 0},
                     {rings[0].device ? rings[0].kick.get() : -1, POLLIN, 0},
                     {rings[1].device ? rings[1].kick.get() : -1, POLLIN, 0}};
    if (::poll(fds, 4, -1) < 0) return;
    if (fds[1].revents & POLLIN) return;
    if (fds[0].revents) {
      auto message = receiveVhostUserMessage(c.socket.get(), std::chrono::milliseconds(1000));
      if (!message) return;
      const uint32_t request = message->header.request;
      std::vector<std::byte> reply;
      auto index = [&] { return readWire<uint32_t>(message->payload).value_or(0) & 1; };
      switch (request) {
        case VHOST_USER_GET_FEATURES:
          reply = toBytes<uint64_t>(device_.features);
          break;
        case VHOST_USER_GET_PROTOCOL_FEATURES:
          reply = toBytes<uint64_t>(0x42629);
          break;
        case VHOST_USER_GET_QUEUE_NUM:
          reply = toBytes<uint64_t>(2);
          break;
        case VHOST_USER_GET_CONFIG: {
          reply = message->payload;
          const std::vector<std::byte>& config = device_.config;
          if (reply.size() == 12 + config.size()) {
            std::memcpy(reply.data() + 12, config.data(), config.size());
          }
          break;
        }
        case VHOST_USER_SET_BACKEND_REQ_FD:
          if (device_.holdBackendChannel && !message->fds.empty()) {
            c.channel = std::move(message->fds[0]);
          }
          break;
        case VHOST_USER_SET_MEM_TABLE: {
          auto region = readWire<VhostUserMemoryRegion>(message->payload, 8);
          if (!region || message->fds.empty()) return;
          auto mapped = MappedRegion::map(message->fds[0].get(), region->memory_size, 0);
          if (!mapped) return;
          c.memory = std::move(*mapped);
          c.gpaBase = region->guest_phys_addr;
          c.userBase = region->userspace_addr;
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
          ring.device = std::make_unique<TestRingDevice>(
              translateHook, host(ring.addr.desc_user_addr), host(ring.addr.avail_user_addr),
              host(ring.addr.used_user_addr), ring.size);
          break;
        }
        default:
          break;
      }
      if (reply.empty() && (message->header.flags & VHOST_USER_NEED_REPLY_MASK)) {
        reply = toBytes<uint64_t>(0);
      }
      if (!reply.empty() && !sendVhostUserMessage(c.socket.get(), request, 0x5, reply)) return;
    }
    if (fds[3].revents & POLLIN) {
      uint64_t count;
      ssize_t n = ::read(rings[1].kick.get(), &count, sizeof(count));
      (void)n;
      std::vector<DeviceChain> chains;
      while (auto chain = rings[1].device->popAvail()) chains.push_back(std::move(*chain));
      device_.onEventBuffers(std::move(chains));
    }
    if (fds[2].revents & POLLIN) {
      uint64_t count;
      ssize_t n = ::read(rings[0].kick.get(), &count, sizeof(count));
      (void)n;
      while (auto chain = rings[0].device->popAvail()) device_.onCommand(*chain);
    }
  }
}

}  // namespace vdec::harness::testing
