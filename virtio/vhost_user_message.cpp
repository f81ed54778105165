// SPDX-License-Identifier: MIT
#include "virtio/vhost_user_message.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vdec::virtio {
namespace {

using Clock = std::chrono::steady_clock;

// Waits until fd is readable (POLLIN) or writable (POLLOUT) or the deadline passes.
Status waitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd pfd{fd, events, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (n > 0) return okStatus();
    if (n == 0) return makeError(ErrorCode::kBackendFailure, "timed out waiting for the peer");
    if (errno != EINTR) {
      return makeError(ErrorCode::kBackendFailure, "poll: {}", std::strerror(errno));
    }
  }
}

void takeFds(msghdr& msg, std::vector<UniqueFd>& fds) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.emplace_back(fd);
    }
  }
}

// Reads exactly out.size() bytes. The first read collects SCM_RIGHTS fds if `fds` is set.
// Sets *eofAtStart (when given) if the peer closed before the first byte.
Status readExact(int fd, std::span<std::byte> out, Clock::time_point deadline,
                 std::vector<UniqueFd>* fds, bool* eofAtStart) {
  size_t done = 0;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * vhost::kMaxFdsPerMessage)];
  while (done < out.size()) {
    VDEC_TRY(waitFor(fd, POLLIN, deadline));
    iovec iov{out.data() + done, out.size() - done};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fds != nullptr && done == 0) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
    }
    // MSG_DONTWAIT: never block, even if another reader took the bytes poll() announced.
    ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return makeError(ErrorCode::kBackendFailure, "recvmsg: {}", std::strerror(errno));
    }
    if (fds != nullptr && msg.msg_controllen > 0) takeFds(msg, *fds);
    if (n == 0) {
      if (done == 0 && eofAtStart != nullptr) {
        *eofAtStart = true;
        return okStatus();
      }
      return makeError(ErrorCode::kBackendFailure, "peer closed mid-message");
    }
    done += static_cast<size_t>(n);
  }
  return okStatus();
}

}  // namespace

Result<std::optional<VhostUserMessage>> receiveMessage(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  VhostUserMessage message;
  bool eof = false;
  VDEC_TRY(readExact(fd, {reinterpret_cast<std::byte*>(&message.header), sizeof(message.header)},
                     deadline, &message.fds, &eof));
  if (eof) return std::optional<VhostUserMessage>();
  if (message.header.size > vhost::kMaxPayloadSize) {
    message.oversized = true;
    return std::optional<VhostUserMessage>(std::move(message));
  }
  message.payload.resize(message.header.size);
  VDEC_TRY(readExact(fd, message.payload, deadline, nullptr, nullptr));
  return std::optional<VhostUserMessage>(std::move(message));
}

Status sendMessage(int fd, vhost::VhostUserHeader header, std::span<const std::byte> payload,
                   std::span<const int> fds, std::chrono::milliseconds timeout) {
  if (fds.size() > vhost::kMaxFdsPerMessage) {
    return makeError(ErrorCode::kInvalidParameter, "{} fds in one message", fds.size());
  }
  header.size = static_cast<uint32_t>(payload.size());
  iovec iov[2] = {{&header, sizeof(header)},
                  {const_cast<std::byte*>(payload.data()), payload.size()}};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * vhost::kMaxFdsPerMessage)] = {};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = payload.empty() ? 1 : 2;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  const size_t total = sizeof(header) + payload.size();
  const auto deadline = Clock::now() + timeout;
  size_t sent = 0;
  while (sent < total) {
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        // A peer that does not read its socket: wait, bounded.
        VDEC_TRY(waitFor(fd, POLLOUT, deadline));
        continue;
      }
      return makeError(ErrorCode::kBackendFailure, "sendmsg: {}", std::strerror(errno));
    }
    sent += static_cast<size_t>(n);
    if (sent == total) break;
    // A short send: the fds went with the first byte; send the rest of the bytes alone.
    msg.msg_control = nullptr;
    msg.msg_controllen = 0;
    size_t skip = static_cast<size_t>(n);
    while (msg.msg_iovlen > 0 && skip >= msg.msg_iov[0].iov_len) {
      skip -= msg.msg_iov[0].iov_len;
      ++msg.msg_iov;
      --msg.msg_iovlen;
    }
    msg.msg_iov[0].iov_base = static_cast<char*>(msg.msg_iov[0].iov_base) + skip;
    msg.msg_iov[0].iov_len -= skip;
  }
  return okStatus();
}

Status payloadSizeIs(const VhostUserMessage& message, size_t expected) {
  if (message.payload.size() != expected) {
    return makeError(ErrorCode::kInvalidParameter, "request {} payload {} bytes, expected {}",
                     message.header.request, message.payload.size(), expected);
  }
  return okStatus();
}

}  // namespace vdec::virtio
