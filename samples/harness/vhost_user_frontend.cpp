// SPDX-License-Identifier: MIT
// VhostUserFrontend: QEMU's realize and start sequences (docs: vhost-user.md §1.6, §2.4).
#include "samples/harness/vhost_user_frontend.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "vdec/base/logging.h"
#include "vdec/base/wire.h"

namespace vdec::harness {
namespace {

using namespace vhost;  // NOLINT(google-build-using-namespace): protocol ids throughout

constexpr uint64_t bit(uint32_t n) { return 1ull << n; }

constexpr uint64_t kWantedProtocolFeatures =
    bit(VHOST_USER_PROTOCOL_F_MQ) | bit(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
    bit(VHOST_USER_PROTOCOL_F_BACKEND_REQ) | bit(VHOST_USER_PROTOCOL_F_CONFIG) |
    bit(VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) | bit(VHOST_USER_PROTOCOL_F_RESET_DEVICE);

bool isQuery(uint32_t request) {
  switch (request) {
    case VHOST_USER_GET_FEATURES:
    case VHOST_USER_GET_PROTOCOL_FEATURES:
    case VHOST_USER_GET_QUEUE_NUM:
    case VHOST_USER_GET_CONFIG:
    case VHOST_USER_GET_VRING_BASE:
    case VHOST_USER_GET_MAX_MEM_SLOTS:
    case VHOST_USER_GET_STATUS:
    case VHOST_USER_GET_SHARED_OBJECT:
      return true;
    default:
      return false;
  }
}

// The messages QEMU sends with NEED_REPLY when REPLY_ACK is negotiated (vhost-user.md §1.6).
bool qemuWantsAck(uint32_t request) {
  switch (request) {
    case VHOST_USER_SET_MEM_TABLE:
    case VHOST_USER_SET_VRING_KICK:
    case VHOST_USER_SET_VRING_CALL:
    case VHOST_USER_SET_VRING_ERR:
    case VHOST_USER_SET_BACKEND_REQ_FD:
    case VHOST_USER_SET_CONFIG:
      return true;
    default:
      return false;
  }
}

template <typename T>
std::span<const std::byte> asBytes(const T& value) {
  return std::as_bytes(std::span(&value, 1));
}

}  // namespace

VhostUserFrontend::VhostUserFrontend(UniqueFd socket, std::string name,
                                     const FrontendOptions& options)
    : socket_(std::move(socket)), name_(std::move(name)), options_(options) {}

Result<std::unique_ptr<VhostUserFrontend>> VhostUserFrontend::connect(
    const std::string& socketPath, const FrontendOptions& options,
    std::chrono::milliseconds retryFor) {
  sockaddr_un addr{};
  if (socketPath.empty() || socketPath.size() >= sizeof(addr.sun_path)) {
    return makeError(ErrorCode::kInvalidParameter, "bad vhost-user socket path '{}'", socketPath);
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socketPath.c_str(), socketPath.size() + 1);
  const auto deadline = std::chrono::steady_clock::now() + retryFor;
  for (;;) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.isValid()) {
      return makeError(ErrorCode::kBackendFailure, "socket(AF_UNIX): {}", std::strerror(errno));
    }
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
      logs::harness().debug("connected to vdec-device at {}", socketPath);
      return std::unique_ptr<VhostUserFrontend>(new VhostUserFrontend(
          std::move(fd), fmt::format("vdec-device at {}", socketPath), options));
    }
    const int err = errno;
    const bool retryable = err == ENOENT || err == ECONNREFUSED || err == EAGAIN;
    if (!retryable || std::chrono::steady_clock::now() >= deadline) {
      return makeError(ErrorCode::kBackendFailure, "cannot connect to vdec-device at {}: {}",
                       socketPath, std::strerror(err));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::unique_ptr<VhostUserFrontend> VhostUserFrontend::adopt(UniqueFd socket, std::string name,
                                                            const FrontendOptions& options) {
  return std::unique_ptr<VhostUserFrontend>(
      new VhostUserFrontend(std::move(socket), std::move(name), options));
}

Result<VhostUserMessage> VhostUserFrontend::receiveReply(uint32_t request) {
  auto reply = receiveVhostUserMessage(socket_.get(), options_.replyTimeout);
  if (!reply) {
    return makeError(ErrorCode::kBackendFailure, "{} did not answer {}: {}", name_,
                     frontendRequestName(request), reply.error().message);
  }
  // QEMU accepts exactly REPLY | version 1, for the same request (vhost_user_read_header).
  if (reply->header.flags != (VHOST_USER_REPLY_MASK | VHOST_USER_VERSION) ||
      reply->header.request != request) {
    return makeError(ErrorCode::kBackendFailure,
                     "{} answered {} with request {} flags {:#x} (expected request {} flags 0x5)",
                     name_, frontendRequestName(request), reply->header.request,
                     reply->header.flags, request);
  }
  return reply;
}

Status VhostUserFrontend::sendRequest(uint32_t request, std::span<const std::byte> payload,
                                      std::span<const int> fds, bool wantAck) {
  if (!socket_.isValid()) {
    return makeError(ErrorCode::kBackendFailure, "{}: connection closed", name_);
  }
  const bool replyAck = (protocolFeatures_ & bit(VHOST_USER_PROTOCOL_F_REPLY_ACK)) != 0;
  const bool needReply =
      wantAck && replyAck && (options_.needReplyOnAllSets || qemuWantsAck(request));
  uint32_t flags = VHOST_USER_VERSION | (needReply ? VHOST_USER_NEED_REPLY_MASK : 0);
  if (auto sent = sendVhostUserMessage(socket_.get(), request, flags, payload, fds); !sent) {
    return makeError(ErrorCode::kBackendFailure, "{}: sending {}: {}", name_,
                     frontendRequestName(request), sent.error().message);
  }
  if (!needReply) return okStatus();
  VDEC_ASSIGN_OR_RETURN(auto reply, receiveReply(request));
  auto ack = reply.u64();
  if (!ack) {
    return makeError(ErrorCode::kBackendFailure, "{}: bad ack for {}: {}", name_,
                     frontendRequestName(request), ack.error().message);
  }
  if (*ack != 0) {
    return makeError(ErrorCode::kBackendFailure, "{} refused {} (ack {})", name_,
                     frontendRequestName(request), *ack);
  }
  return okStatus();
}

Result<VhostUserMessage> VhostUserFrontend::query(uint32_t request,
                                                  std::span<const std::byte> payload) {
  if (!socket_.isValid()) {
    return makeError(ErrorCode::kBackendFailure, "{}: connection closed", name_);
  }
  VDEC_CHECK(isQuery(request));
  if (auto sent = sendVhostUserMessage(socket_.get(), request, VHOST_USER_VERSION, payload);
      !sent) {
    return makeError(ErrorCode::kBackendFailure, "{}: sending {}: {}", name_,
                     frontendRequestName(request), sent.error().message);
  }
  return receiveReply(request);
}

Status VhostUserFrontend::negotiateProtocol() {
  VDEC_ASSIGN_OR_RETURN(auto reply, query(VHOST_USER_GET_PROTOCOL_FEATURES));
  VDEC_ASSIGN_OR_RETURN(uint64_t offered, reply.u64());
  uint64_t wanted = kWantedProtocolFeatures;
  if (options_.negotiateSharedObject) wanted |= bit(VHOST_USER_PROTOCOL_F_SHARED_OBJECT);
  const uint64_t chosen = offered & wanted;
  if ((chosen & bit(VHOST_USER_PROTOCOL_F_CONFIG)) == 0) {
    // QEMU fails realize when a device with config space meets a back-end without CONFIG.
    return makeError(ErrorCode::kBackendFailure, "{} does not offer protocol feature CONFIG",
                     name_);
  }
  // SET_PROTOCOL_FEATURES itself is sent without NEED_REPLY, as QEMU does.
  VDEC_TRY(sendRequest(VHOST_USER_SET_PROTOCOL_FEATURES, asBytes(chosen), {}, false));
  protocolFeatures_ = chosen;
  logs::harness().debug("protocol features offered {:#x}, acked {:#x}", offered, chosen);
  return okStatus();
}

Status VhostUserFrontend::readConfig() {
  const bool media = options_.device == FrontendDevice::kMedia;
  const uint32_t size =
      media ? sizeof(wire::virtio_media_config) : sizeof(wire::virtio_video_config);
  std::vector<std::byte> request(sizeof(VhostUserConfigHeader) + size);
  const VhostUserConfigHeader wanted{0, size, 0};
  std::memcpy(request.data(), &wanted, sizeof(wanted));
  VDEC_ASSIGN_OR_RETURN(auto reply, query(VHOST_USER_GET_CONFIG, request));
  if (reply.payload.size() != request.size()) {
    return makeError(ErrorCode::kBackendFailure, "{} answered GET_CONFIG with {} bytes, not {}",
                     name_, reply.payload.size(), request.size());
  }
  VDEC_ASSIGN_OR_RETURN(auto header, readWire<VhostUserConfigHeader>(reply.payload));
  if (header.offset != 0 || header.size != size) {
    return makeError(ErrorCode::kBackendFailure, "{} answered GET_CONFIG for offset {} size {}",
                     name_, header.offset, header.size);
  }
  if (media) {
    VDEC_ASSIGN_OR_RETURN(mediaConfig_, readWire<wire::virtio_media_config>(
                                            reply.payload, sizeof(VhostUserConfigHeader)));
    return okStatus();
  }
  VDEC_ASSIGN_OR_RETURN(
      config_, readWire<wire::virtio_video_config>(reply.payload, sizeof(VhostUserConfigHeader)));
  if (config_.max_caps_length == 0 || config_.max_resp_length == 0) {
    // The guest driver's probe fails with -EINVAL on either.
    return makeError(ErrorCode::kBackendFailure,
                     "{} config has max_caps_length {} max_resp_length {} (both must be > 0)",
                     name_, config_.max_caps_length, config_.max_resp_length);
  }
  return okStatus();
}

Status VhostUserFrontend::realize(std::span<const VringSetup> queues) {
  VDEC_ASSIGN_OR_RETURN(auto features, query(VHOST_USER_GET_FEATURES));
  VDEC_ASSIGN_OR_RETURN(offeredFeatures_, features.u64());
  if ((offeredFeatures_ & bit(VHOST_USER_F_PROTOCOL_FEATURES)) == 0) {
    return makeError(ErrorCode::kBackendFailure,
                     "{} does not offer VHOST_USER_F_PROTOCOL_FEATURES (features {:#x})", name_,
                     offeredFeatures_);
  }
  if ((offeredFeatures_ & bit(VIRTIO_F_VERSION_1)) == 0) {
    // Linux 5.15 virtio-pci refuses a modern device without VERSION_1.
    return makeError(ErrorCode::kBackendFailure, "{} does not offer VIRTIO_F_VERSION_1", name_);
  }
  VDEC_TRY(negotiateProtocol());

  if (protocolFeatures_ & bit(VHOST_USER_PROTOCOL_F_MQ)) {
    VDEC_ASSIGN_OR_RETURN(auto reply, query(VHOST_USER_GET_QUEUE_NUM));
    VDEC_ASSIGN_OR_RETURN(queueCount_, reply.u64());
    if (queueCount_ < queues.size()) {
      return makeError(ErrorCode::kBackendFailure, "{} supports {} queues, {} needed", name_,
                       queueCount_, queues.size());
    }
  }
  if (protocolFeatures_ & bit(VHOST_USER_PROTOCOL_F_BACKEND_REQ)) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      return makeError(ErrorCode::kBackendFailure, "socketpair: {}", std::strerror(errno));
    }
    backendChannel_ = UniqueFd(pair[0]);
    UniqueFd theirs(pair[1]);  // the back-end gets a duplicate through SCM_RIGHTS
    const int fds[] = {theirs.get()};
    VDEC_TRY(sendRequest(VHOST_USER_SET_BACKEND_REQ_FD, {}, fds));
  }
  VDEC_TRY(sendRequest(VHOST_USER_SET_OWNER, {}));
  // QEMU reads the features again after SET_OWNER (vhost_dev_init -> vhost_get_features).
  VDEC_ASSIGN_OR_RETURN(auto again, query(VHOST_USER_GET_FEATURES));
  VDEC_ASSIGN_OR_RETURN(uint64_t reread, again.u64());
  if (reread != offeredFeatures_) {
    return makeError(ErrorCode::kBackendFailure, "{} changed its features from {:#x} to {:#x}",
                     name_, offeredFeatures_, reread);
  }
  for (const auto& queue : queues) {
    const uint64_t index = queue.index;
    const int call[] = {queue.callFd};
    VDEC_TRY(sendRequest(VHOST_USER_SET_VRING_CALL, asBytes(index), call));
    if (queue.errFd >= 0) {
      const int err[] = {queue.errFd};
      VDEC_TRY(sendRequest(VHOST_USER_SET_VRING_ERR, asBytes(index), err));
    }
  }
  return readConfig();
}

Status VhostUserFrontend::start(const GuestRam& ram, std::span<const VringSetup> queues) {
  uint64_t acked = bit(VIRTIO_F_VERSION_1) | bit(VHOST_USER_F_PROTOCOL_FEATURES);
  acked |= offeredFeatures_ &
           (bit(wire::VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES) |
            bit(wire::VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG) |
            bit(wire::VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT) | bit(VIRTIO_RING_F_INDIRECT_DESC));
  if (options_.negotiateEventIdx) acked |= offeredFeatures_ & bit(VIRTIO_RING_F_EVENT_IDX);
  VDEC_TRY(sendRequest(VHOST_USER_SET_FEATURES, asBytes(acked)));
  ackedFeatures_ = acked;

  VhostUserMemory table{};
  table.nregions = 1;
  table.regions[0] = {ram.base(), ram.size(), ram.userAddr(), 0};
  // QEMU sends the header plus the used regions only.
  auto tableBytes = asBytes(table).first(8 + sizeof(VhostUserMemoryRegion) * table.nregions);
  const int memFds[] = {ram.fd()};
  VDEC_TRY(sendRequest(VHOST_USER_SET_MEM_TABLE, tableBytes, memFds));

  auto user = [&ram](uint64_t gpa) { return ram.userAddr() + (gpa - ram.base()); };
  for (const auto& queue : queues) {
    VDEC_TRY(sendRequest(VHOST_USER_SET_VRING_NUM,
                         asBytes(VhostUserVringState{queue.index, queue.size})));
    VDEC_TRY(sendRequest(VHOST_USER_SET_VRING_BASE, asBytes(VhostUserVringState{queue.index, 0})));
    VhostUserVringAddr addr{queue.index,          0, user(queue.descGpa), user(queue.usedGpa),
                            user(queue.availGpa), 0};
    VDEC_TRY(sendRequest(VHOST_USER_SET_VRING_ADDR, asBytes(addr)));
    const uint64_t index = queue.index;
    const int kick[] = {queue.kickFd};
    VDEC_TRY(sendRequest(VHOST_USER_SET_VRING_KICK, asBytes(index), kick));
  }
  for (const auto& queue : queues) {
    VDEC_TRY(
        sendRequest(VHOST_USER_SET_VRING_ENABLE, asBytes(VhostUserVringState{queue.index, 1})));
  }
  logs::harness().debug("{} started: features {:#x}, {} queues", name_, ackedFeatures_,
                        queues.size());
  return okStatus();
}

UniqueFd VhostUserFrontend::takeBackendChannel() { return std::move(backendChannel_); }

void VhostUserFrontend::close() {
  if (socket_.isValid()) ::shutdown(socket_.get(), SHUT_RDWR);
  socket_.reset();
}

}  // namespace vdec::harness
