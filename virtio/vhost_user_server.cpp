// SPDX-License-Identifier: MIT
#include "virtio/vhost_user_server.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "vdec/base/logging.h"
#include "vdec/base/wire.h"
#include "virtio/frontend_fd.h"

namespace vdec::virtio {
namespace {

using namespace vdec::vhost;  // NOLINT(google-build-using-namespace): protocol constants

constexpr uint64_t kTagListen = 0;
constexpr uint64_t kTagStop = 1;
constexpr uint64_t kTagConn = 2;
constexpr uint64_t kTagNotify = 3;

// Front-ends that may wait in the listen queue while one is served.
constexpr int kListenBacklog = 4;

std::vector<std::byte> u64Bytes(uint64_t value) { return toBytes(value); }

}  // namespace

Result<std::unique_ptr<VhostUserServer>> VhostUserServer::listen(const std::string& socketPath,
                                                                 VirtioDevice& device) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socketPath.empty() || socketPath.size() >= sizeof(addr.sun_path)) {
    return makeError(ErrorCode::kInvalidParameter, "bad socket path '{}'", socketPath);
  }
  std::memcpy(addr.sun_path, socketPath.c_str(), socketPath.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.isValid())
    return makeError(ErrorCode::kBackendFailure, "socket: {}", std::strerror(errno));
  ::unlink(socketPath.c_str());  // a stale socket from an earlier run
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd.get(), kListenBacklog) != 0) {
    return makeError(ErrorCode::kBackendFailure, "bind/listen {}: {}", socketPath,
                     std::strerror(errno));
  }
  return adopt(std::move(fd), device);
}

Result<std::unique_ptr<VhostUserServer>> VhostUserServer::adopt(UniqueFd listenFd,
                                                                VirtioDevice& device) {
  UniqueFd stopFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  UniqueFd epollFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!stopFd.isValid() || !epollFd.isValid()) {
    return makeError(ErrorCode::kBackendFailure, "eventfd/epoll: {}", std::strerror(errno));
  }
  std::unique_ptr<VhostUserServer> server(
      new VhostUserServer(std::move(listenFd), std::move(stopFd), std::move(epollFd), device));
  VDEC_TRY(server->watch(server->listenFd_.get(), kTagListen));
  VDEC_TRY(server->watch(server->stopFd_.get(), kTagStop));
  if (device.notifyFd() >= 0) VDEC_TRY(server->watch(device.notifyFd(), kTagNotify));
  return server;
}

Result<std::unique_ptr<VhostUserServer>> VhostUserServer::adoptConnection(UniqueFd connection,
                                                                          VirtioDevice& device) {
  UniqueFd stopFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  UniqueFd epollFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!stopFd.isValid() || !epollFd.isValid()) {
    return makeError(ErrorCode::kBackendFailure, "eventfd/epoll: {}", std::strerror(errno));
  }
  std::unique_ptr<VhostUserServer> server(
      new VhostUserServer(UniqueFd(), std::move(stopFd), std::move(epollFd), device));
  VDEC_TRY(server->watch(server->stopFd_.get(), kTagStop));
  if (device.notifyFd() >= 0) VDEC_TRY(server->watch(device.notifyFd(), kTagNotify));
  server->conn_ = std::move(connection);
  server->vrings_.resize(device.numQueues());
  VDEC_TRY(server->watch(server->conn_.get(), kTagConn));
  logs::virtio().info("serving the front-end connected on fd {}", server->conn_.get());
  return server;
}

VhostUserServer::VhostUserServer(UniqueFd listenFd, UniqueFd stopFd, UniqueFd epollFd,
                                 VirtioDevice& device)
    : listenFd_(std::move(listenFd)),
      stopFd_(std::move(stopFd)),
      epollFd_(std::move(epollFd)),
      device_(device) {}

VhostUserServer::~VhostUserServer() {
  if (conn_.isValid()) dropConnection("server shutting down");
}

void VhostUserServer::stop() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stopFd_.get(), &one, sizeof(one));
}

Status VhostUserServer::watch(int fd, uint64_t tag, uint32_t extraEvents, bool modify) {
  epoll_event ev{};
  ev.events = EPOLLIN | extraEvents;
  ev.data.u64 = tag;
  if (::epoll_ctl(epollFd_.get(), modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0) {
    return makeError(ErrorCode::kBackendFailure, "epoll_ctl: {}", std::strerror(errno));
  }
  return okStatus();
}

void VhostUserServer::unwatch(int fd) {
  if (fd >= 0) ::epoll_ctl(epollFd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

Status VhostUserServer::run() {
  logs::virtio().info("vhost-user back-end waiting for a front-end");
  for (;;) {
    epoll_event events[16];
    int n = ::epoll_wait(epollFd_.get(), events, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return makeError(ErrorCode::kBackendFailure, "epoll_wait: {}", std::strerror(errno));
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kTagStop) {
        logs::virtio().info("stopping");
        return okStatus();
      } else if (tag == kTagListen) {
        if (conn_.isValid()) {
          // One front-end at a time; the watch was one-shot, re-armed when this one leaves.
          logs::virtio().warn(
              "another front-end is waiting to connect; it is served when the current one "
              "disconnects");
        } else {
          VDEC_TRY(acceptConnection());
        }
      } else if (tag == kTagConn) {
        if (conn_.isValid() && !serveMessage()) dropConnection("front-end protocol error");
      } else if (tag == kTagNotify) {
        onDeviceNotify();
      } else if (tag >= kTagKick) {
        onKick(static_cast<uint32_t>((tag & 0xffffffffu) - kTagKick),
               static_cast<uint32_t>(tag >> 32), events[i].events);
      }
      // Handling one event may have closed or replaced fds of later events in this batch (a
      // dropped connection, SET_VRING_KICK): their tags are re-checked against current state
      // (kick tags carry the generation of their fd), so that is harmless.
    }
  }
}

Status VhostUserServer::acceptConnection() {
  // Non-blocking: every read and write on it is bounded by kMessageTimeout anyway.
  int fd = ::accept4(listenFd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) {
    if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) return okStatus();
    return makeError(ErrorCode::kBackendFailure, "accept: {}", std::strerror(errno));
  }
  conn_.reset(fd);
  vrings_.clear();
  vrings_.resize(device_.numQueues());
  // One front-end at a time: the next one waits in the backlog until this one leaves. The
  // listening socket stays watched once more (one-shot) to log that someone is waiting.
  VDEC_TRY(watch(listenFd_.get(), kTagListen, EPOLLONESHOT, /*modify=*/true));
  VDEC_TRY(watch(conn_.get(), kTagConn));
  logs::virtio().info("front-end connected");
  return okStatus();
}

void VhostUserServer::dropConnection(const char* why) {
  logs::virtio().info("front-end disconnected ({})", why);
  for (auto& vring : vrings_) unwatch(vring.kick.get());
  unwatch(conn_.get());
  device_.setObjectResolver(nullptr);
  device_.reset();
  device_.setGuestMemory(nullptr);
  vrings_.clear();
  backend_.reset();
  memory_.reset();
  conn_.reset();
  ackedFeatures_ = protocolFeatures_ = status_ = 0;
  if (!listenFd_.isValid()) {  // adoptConnection(): the only front-end has gone
    stop();
    return;
  }
  if (!watch(listenFd_.get(), kTagListen, 0, /*modify=*/true)) {
    logs::virtio().error("cannot watch the listening socket again; stopping");
    stop();
  }
}

bool VhostUserServer::serveMessage() {
  auto received = receiveMessage(conn_.get(), kMessageTimeout);
  if (!received) {
    logs::virtio().warn("reading a message failed: {}", received.error().message);
    return false;
  }
  if (!*received) {
    dropConnection("socket closed");
    return true;
  }
  VhostUserMessage& message = **received;
  const bool ackNegotiated = (protocolFeatures_ & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK)) != 0;
  Outcome outcome;
  if (message.oversized) {
    outcome.status = makeError(ErrorCode::kInvalidParameter, "payload size {} over {}",
                               message.header.size, kMaxPayloadSize);
  } else {
    outcome = dispatch(message);
  }
  if (!outcome.status) {
    logs::virtio().debug("request {} failed: {}", message.header.request,
                         outcome.status.error().message);
  }
  const VhostUserHeader replyHeader{message.header.request,
                                    VHOST_USER_VERSION | VHOST_USER_REPLY_MASK, 0};
  Status sent = okStatus();
  if (outcome.reply) {
    sent = sendMessage(conn_.get(), replyHeader, *outcome.reply);
  } else if (message.needsReply() && ackNegotiated) {
    sent = sendMessage(conn_.get(), replyHeader, u64Bytes(outcome.status ? 0 : 1));
  }
  if (!sent) {
    logs::virtio().warn("sending a reply failed: {}", sent.error().message);
    return false;
  }
  // The stream cannot be resynchronised after an oversized header.
  return !message.oversized;
}

VhostUserServer::Outcome VhostUserServer::dispatch(VhostUserMessage& m) {
  SPDLOG_LOGGER_DEBUG(&logs::virtio(), "request {} flags {:#x} size {} fds {}", m.header.request,
                      m.header.flags, m.header.size, m.fds.size());
  switch (m.header.request) {
    case VHOST_USER_GET_FEATURES:
      return {okStatus(), u64Bytes(kTransportFeatures | device_.features())};
    case VHOST_USER_SET_FEATURES:
      return setFeatures(m);
    case VHOST_USER_GET_PROTOCOL_FEATURES:
      return {okStatus(), u64Bytes(kProtocolFeatures)};
    case VHOST_USER_SET_PROTOCOL_FEATURES:
      return setProtocolFeatures(m);
    case VHOST_USER_SET_OWNER:
      return {okStatus(), std::nullopt};
    case VHOST_USER_RESET_OWNER:
    case VHOST_USER_RESET_DEVICE:
      return resetDevice();
    case VHOST_USER_GET_QUEUE_NUM:
      return {okStatus(), u64Bytes(device_.numQueues())};
    case VHOST_USER_GET_MAX_MEM_SLOTS:
      return {okStatus(), u64Bytes(kMaxMemoryRegions)};
    case VHOST_USER_SET_MEM_TABLE:
      return setMemTable(m);
    case VHOST_USER_SET_VRING_NUM:
      return setVringNum(m);
    case VHOST_USER_SET_VRING_ADDR:
      return setVringAddr(m);
    case VHOST_USER_SET_VRING_BASE:
      return setVringBase(m);
    case VHOST_USER_GET_VRING_BASE:
      return getVringBase(m);
    case VHOST_USER_SET_VRING_KICK:
    case VHOST_USER_SET_VRING_CALL:
    case VHOST_USER_SET_VRING_ERR:
      return setVringFd(m);
    case VHOST_USER_SET_VRING_ENABLE:
      return setVringEnable(m);
    case VHOST_USER_GET_CONFIG:
      return getConfig(m);
    case VHOST_USER_SET_CONFIG:
      return {makeError(ErrorCode::kUnsupported, "config space is read-only"), std::nullopt};
    case VHOST_USER_SET_BACKEND_REQ_FD:
      return setBackendReqFd(m);
    case VHOST_USER_SET_STATUS: {
      auto status = payloadAs<uint64_t>(m);
      if (status) status_ = *status;
      return {status ? okStatus() : makeError(std::move(status.error())), std::nullopt};
    }
    case VHOST_USER_GET_STATUS:
      return {okStatus(), u64Bytes(status_)};
    case VHOST_USER_SET_LOG_BASE:
    case VHOST_USER_SET_LOG_FD:
      return {makeError(ErrorCode::kUnsupported, "dirty logging (migration) not supported"),
              std::nullopt};
    default:
      return {makeError(ErrorCode::kUnsupported, "unknown request {}", m.header.request),
              std::nullopt};
  }
}

VhostUserServer::Outcome VhostUserServer::setFeatures(const VhostUserMessage& m) {
  auto features = payloadAs<uint64_t>(m);
  if (!features) return {makeError(std::move(features.error())), std::nullopt};
  const uint64_t offered = kTransportFeatures | device_.features();
  if (*features & ~offered) {
    return {makeError(ErrorCode::kInvalidParameter, "features {:#x} not offered", *features),
            std::nullopt};
  }
  ackedFeatures_ = *features;
  logs::virtio().info("negotiated virtio features {:#x}", ackedFeatures_);
  // Rings built before (a late SET_FEATURES) take the new notification scheme.
  const bool eventIdx = (ackedFeatures_ & (1ull << VIRTIO_RING_F_EVENT_IDX)) != 0;
  for (uint32_t i = 0; i < vrings_.size(); ++i) {
    if (vrings_[i].queue && vrings_[i].queue->eventIdx() != eventIdx) rebuildQueue(i);
  }
  // Without VHOST_USER_F_PROTOCOL_FEATURES rings are enabled from the start.
  if (!(ackedFeatures_ & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))) {
    for (auto& vring : vrings_) vring.enabled = true;
  }
  return {okStatus(), std::nullopt};
}

VhostUserServer::Outcome VhostUserServer::setProtocolFeatures(const VhostUserMessage& m) {
  auto features = payloadAs<uint64_t>(m);
  if (!features) return {makeError(std::move(features.error())), std::nullopt};
  if (*features & ~kProtocolFeatures) {
    return {
        makeError(ErrorCode::kInvalidParameter, "protocol features {:#x} not offered", *features),
        std::nullopt};
  }
  protocolFeatures_ = *features;
  logs::virtio().info("negotiated protocol features {:#x}", protocolFeatures_);
  updateResolver();
  return {okStatus(), std::nullopt};
}

VhostUserServer::Outcome VhostUserServer::setMemTable(VhostUserMessage& m) {
  auto build = [&]() -> Status {
    VDEC_ASSIGN_OR_RETURN(auto count, readWire<uint32_t>(m.payload));
    if (count == 0 || count > kMaxMemoryRegions) {
      return makeError(ErrorCode::kInvalidParameter, "{} memory regions", count);
    }
    if (m.payload.size() < 8 + sizeof(VhostUserMemoryRegion) * count || m.fds.size() != count) {
      return makeError(ErrorCode::kInvalidParameter, "memory table: {} regions, {} bytes, {} fds",
                       count, m.payload.size(), m.fds.size());
    }
    std::vector<buffers::GuestMemoryRegionSpec> specs;
    for (uint32_t i = 0; i < count; ++i) {
      VDEC_ASSIGN_OR_RETURN(auto r, readWire<VhostUserMemoryRegion>(
                                        m.payload, 8 + sizeof(VhostUserMemoryRegion) * i));
      specs.push_back(
          {r.guest_phys_addr, r.memory_size, r.userspace_addr, r.mmap_offset, std::move(m.fds[i])});
    }
    VDEC_ASSIGN_OR_RETURN(auto memory, buffers::GuestMemory::create(std::move(specs)));
    memory_ = std::move(memory);
    return okStatus();
  };
  Status status = build();
  if (status) {
    logs::virtio().info("memory table: {} regions", memory_->regions().size());
    device_.setGuestMemory(memory_);
    for (uint32_t i = 0; i < vrings_.size(); ++i) rebuildQueue(i);
  }
  return {std::move(status), std::nullopt};
}

VhostUserServer::Outcome VhostUserServer::getConfig(const VhostUserMessage& m) {
  // Failure is an empty payload (libvhost-user, rust-vmm): QEMU then fails the config read.
  auto header = readWire<VhostUserConfigHeader>(m.payload);
  if (!header) return {makeError(std::move(header.error())), std::vector<std::byte>()};
  const std::vector<std::byte> config = device_.configSpace();
  uint64_t end = 0;
  if (m.payload.size() != sizeof(VhostUserConfigHeader) + header->size || header->size == 0 ||
      addOverflows(header->offset, header->size, &end) || end > config.size()) {
    return {makeError(ErrorCode::kInvalidParameter, "GET_CONFIG offset {} size {} of {}",
                      header->offset, header->size, config.size()),
            std::vector<std::byte>()};
  }
  std::vector<std::byte> reply = toBytes(*header);
  reply.insert(reply.end(), config.begin() + header->offset, config.begin() + end);
  return {okStatus(), std::move(reply)};
}

VhostUserServer::Outcome VhostUserServer::setBackendReqFd(VhostUserMessage& m) {
  if (m.fds.size() != 1) {
    return {makeError(ErrorCode::kInvalidParameter, "SET_BACKEND_REQ_FD with {} fds", m.fds.size()),
            std::nullopt};
  }
  struct stat st {};
  if (::fstat(m.fds.front().get(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return {makeError(ErrorCode::kInvalidParameter, "SET_BACKEND_REQ_FD: fd is not a socket"),
            std::nullopt};
  }
  device_.setObjectResolver(nullptr);  // before the old channel dies
  backend_ = std::make_unique<BackendChannel>(std::move(m.fds.front()));
  updateResolver();
  return {okStatus(), std::nullopt};
}

void VhostUserServer::updateResolver() {
  const uint64_t needed = (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |
                          (1ull << VHOST_USER_PROTOCOL_F_SHARED_OBJECT) |
                          (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
  const bool usable = backend_ && (protocolFeatures_ & needed) == needed;
  device_.setObjectResolver(usable ? backend_.get() : nullptr);
}

VhostUserServer::Outcome VhostUserServer::resetDevice() {
  for (uint32_t i = 0; i < vrings_.size(); ++i) {
    stopVring(i);
    Vring& vring = vrings_[i];
    vring.enabled = false;
    vring.addr.reset();
    vring.size = 0;
    vring.base = 0;
  }
  device_.reset();
  status_ = 0;
  return {okStatus(), std::nullopt};
}

}  // namespace vdec::virtio
