// SPDX-License-Identifier: MIT
// VhostUserMessage: sendmsg/recvmsg framing of vhost-user messages with SCM_RIGHTS.
#include "samples/harness/vhost_user_message.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "vdec/base/wire.h"

namespace vdec::harness {
namespace {

using vhost::VhostUserHeader;

// Waits until `socket` is readable; false on timeout.
Result<bool> waitReadable(int socket, std::chrono::milliseconds timeout) {
  pollfd pfd{socket, POLLIN, 0};
  for (;;) {
    int rc = ::poll(&pfd, 1, timeout.count() < 0 ? -1 : static_cast<int>(timeout.count()));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) {
      return makeError(ErrorCode::kBackendFailure, "poll on vhost-user socket: {}",
                       std::strerror(errno));
    }
  }
}

// Reads exactly out.size() bytes (the rest of a message; the peer already started sending it).
Status readExact(int socket, std::span<std::byte> out) {
  while (!out.empty()) {
    ssize_t n = ::recv(socket, out.data(), out.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return makeError(ErrorCode::kBackendFailure, "recv on vhost-user socket: {}",
                       std::strerror(errno));
    }
    if (n == 0) return makeError(ErrorCode::kBackendFailure, "vhost-user peer closed mid-message");
    out = out.subspan(static_cast<size_t>(n));
  }
  return okStatus();
}

}  // namespace

Result<uint64_t> VhostUserMessage::u64() const {
  if (payload.size() != sizeof(uint64_t)) {
    return makeError(ErrorCode::kBackendFailure, "expected a u64 payload, got {} bytes",
                     payload.size());
  }
  return readWire<uint64_t>(payload);
}

Status sendVhostUserMessage(int socket, uint32_t request, uint32_t flags,
                            std::span<const std::byte> payload, std::span<const int> fds) {
  if (fds.size() > vhost::kMaxFdsPerMessage || payload.size() > vhost::kMaxPayloadSize) {
    return makeError(ErrorCode::kInvalidParameter, "vhost-user message {} too large", request);
  }
  VhostUserHeader header{request, flags, static_cast<uint32_t>(payload.size())};
  iovec iov[2] = {{&header, sizeof(header)},
                  {const_cast<std::byte*>(payload.data()), payload.size()}};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * vhost::kMaxFdsPerMessage)] = {};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = payload.empty() ? 1 : 2;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  const size_t total = sizeof(header) + payload.size();
  ssize_t sent;
  do {
    sent = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    return makeError(ErrorCode::kBackendFailure, "sendmsg of vhost-user message {}: {}", request,
                     std::strerror(errno));
  }
  // Unix stream sockets send small messages whole; finish a partial write without the fds.
  std::vector<std::byte> all(total);
  std::memcpy(all.data(), &header, sizeof(header));
  if (!payload.empty()) std::memcpy(all.data() + sizeof(header), payload.data(), payload.size());
  for (size_t done = static_cast<size_t>(sent); done < total;) {
    ssize_t n = ::send(socket, all.data() + done, total - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return makeError(ErrorCode::kBackendFailure, "send of vhost-user message {}: {}", request,
                       std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return okStatus();
}

Result<VhostUserMessage> receiveVhostUserMessage(int socket, std::chrono::milliseconds timeout) {
  VDEC_ASSIGN_OR_RETURN(bool readable, waitReadable(socket, timeout));
  if (!readable) {
    return makeError(ErrorCode::kBackendFailure, "no vhost-user message within {} ms",
                     timeout.count());
  }
  VhostUserMessage message;
  iovec iov{&message.header, sizeof(message.header)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * vhost::kMaxFdsPerMessage)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return makeError(ErrorCode::kBackendFailure, "recvmsg on vhost-user socket: {}",
                     std::strerror(errno));
  }
  if (n == 0) return makeError(ErrorCode::kBackendFailure, "vhost-user peer closed the socket");
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
      message.fds.emplace_back(fd);
    }
  }
  if (static_cast<size_t>(n) < sizeof(message.header)) {
    auto rest = std::span(reinterpret_cast<std::byte*>(&message.header), sizeof(message.header));
    VDEC_TRY(readExact(socket, rest.subspan(static_cast<size_t>(n))));
  }
  if (message.header.size > vhost::kMaxPayloadSize) {
    return makeError(ErrorCode::kBackendFailure, "vhost-user message {} with {} payload bytes",
                     message.header.request, message.header.size);
  }
  message.payload.resize(message.header.size);
  VDEC_TRY(readExact(socket, message.payload));
  return message;
}

const char* frontendRequestName(uint32_t request) {
  using namespace vhost;  // NOLINT(google-build-using-namespace): the id table below
  switch (request) {
    case VHOST_USER_GET_FEATURES:
      return "GET_FEATURES";
    case VHOST_USER_SET_FEATURES:
      return "SET_FEATURES";
    case VHOST_USER_SET_OWNER:
      return "SET_OWNER";
    case VHOST_USER_RESET_OWNER:
      return "RESET_OWNER";
    case VHOST_USER_SET_MEM_TABLE:
      return "SET_MEM_TABLE";
    case VHOST_USER_SET_LOG_BASE:
      return "SET_LOG_BASE";
    case VHOST_USER_SET_LOG_FD:
      return "SET_LOG_FD";
    case VHOST_USER_SET_VRING_NUM:
      return "SET_VRING_NUM";
    case VHOST_USER_SET_VRING_ADDR:
      return "SET_VRING_ADDR";
    case VHOST_USER_SET_VRING_BASE:
      return "SET_VRING_BASE";
    case VHOST_USER_GET_VRING_BASE:
      return "GET_VRING_BASE";
    case VHOST_USER_SET_VRING_KICK:
      return "SET_VRING_KICK";
    case VHOST_USER_SET_VRING_CALL:
      return "SET_VRING_CALL";
    case VHOST_USER_SET_VRING_ERR:
      return "SET_VRING_ERR";
    case VHOST_USER_GET_PROTOCOL_FEATURES:
      return "GET_PROTOCOL_FEATURES";
    case VHOST_USER_SET_PROTOCOL_FEATURES:
      return "SET_PROTOCOL_FEATURES";
    case VHOST_USER_GET_QUEUE_NUM:
      return "GET_QUEUE_NUM";
    case VHOST_USER_SET_VRING_ENABLE:
      return "SET_VRING_ENABLE";
    case VHOST_USER_SET_BACKEND_REQ_FD:
      return "SET_BACKEND_REQ_FD";
    case VHOST_USER_GET_CONFIG:
      return "GET_CONFIG";
    case VHOST_USER_SET_CONFIG:
      return "SET_CONFIG";
    case VHOST_USER_RESET_DEVICE:
      return "RESET_DEVICE";
    case VHOST_USER_GET_MAX_MEM_SLOTS:
      return "GET_MAX_MEM_SLOTS";
    case VHOST_USER_SET_STATUS:
      return "SET_STATUS";
    case VHOST_USER_GET_STATUS:
      return "GET_STATUS";
    case VHOST_USER_GET_SHARED_OBJECT:
      return "GET_SHARED_OBJECT";
    default:
      return "UNKNOWN";
  }
}

}  // namespace vdec::harness
