// SPDX-License-Identifier: MIT
// VhostUserMessage: one framed vhost-user message, and sending/receiving it with fds.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "vdec/base/result.h"
#include "vdec/base/unique_fd.h"
#include "vdec/base/wire.h"
#include "virtio/vhost_user_protocol.h"

namespace vdec::virtio {

struct VhostUserMessage {
  vhost::VhostUserHeader header{};
  std::vector<std::byte> payload;  // header.size bytes (empty when oversized)
  std::vector<UniqueFd> fds;       // from the first recvmsg of the message (SCM_RIGHTS)
  bool oversized = false;          // header.size > kMaxPayloadSize; payload not read

  [[nodiscard]] bool needsReply() const {
    return (header.flags & vhost::VHOST_USER_NEED_REPLY_MASK) != 0;
  }
};

// How long the device thread may wait for the rest of a message once its first byte arrived,
// or for room in the socket to send one. A front-end writes a message in one go (QEMU: one
// sendmsg); a slower one is a broken one, and the device thread has other work.
inline constexpr std::chrono::milliseconds kMessageTimeout{100};

// Reads one message from a stream socket. nullopt: the peer closed the socket cleanly before a
// header. Error: a read failed, the peer closed mid-message, or `timeout` passed before the
// whole message arrived (the deadline covers the whole message, not each byte). Never blocks
// past the deadline (poll + MSG_DONTWAIT). An oversized message is returned with its header
// only; the stream is then out of sync.
Result<std::optional<VhostUserMessage>> receiveMessage(int fd, std::chrono::milliseconds timeout);

// Writes header + payload with fds attached to the first byte (at most kMaxFdsPerMessage).
// header.size is set from payload. Never blocks past `timeout` (a peer that does not read its
// socket): then fails with kBackendFailure, and the stream may hold a partial message.
Status sendMessage(int fd, vhost::VhostUserHeader header, std::span<const std::byte> payload,
                   std::span<const int> fds = {},
                   std::chrono::milliseconds timeout = kMessageTimeout);

// A request's payload is exactly `expected` bytes, else kInvalidParameter naming the request.
Status payloadSizeIs(const VhostUserMessage& message, size_t expected);

// A request's payload read as the wire struct T (exactly sizeof(T) bytes).
template <typename T>
Result<T> payloadAs(const VhostUserMessage& message) {
  VDEC_TRY(payloadSizeIs(message, sizeof(T)));
  return readWire<T>(message.payload);
}

}  // namespace vdec::virtio
