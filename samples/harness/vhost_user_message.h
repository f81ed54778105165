// SPDX-License-Identifier: MIT
// VhostUserMessage: one vhost-user message (header, payload, SCM_RIGHTS fds) and its socket I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "vdec/base/result.h"
#include "vdec/base/unique_fd.h"
#include "virtio/vhost_user_protocol.h"

namespace vdec::harness {

// Used on both vhost-user channels: the front-end socket and the back-end (SET_BACKEND_REQ_FD)
// channel. Stateless helpers: the caller owns the socket and serializes use of it.
struct VhostUserMessage {
  vhost::VhostUserHeader header{};
  std::vector<std::byte> payload;
  std::vector<UniqueFd> fds;  // received with the header (first recvmsg only)

  // The payload as a u64 (acks, feature words); an error unless it is exactly 8 bytes.
  Result<uint64_t> u64() const;
};

// Sends header + payload in one sendmsg, fds (borrowed, at most kMaxFdsPerMessage) attached to
// it. MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE.
Status sendVhostUserMessage(int socket, uint32_t request, uint32_t flags,
                            std::span<const std::byte> payload, std::span<const int> fds = {});

// Receives one message, waiting up to `timeout` for it to start (negative: forever). A closed
// peer, a short message or a payload over kMaxPayloadSize is an error (kBackendFailure).
Result<VhostUserMessage> receiveVhostUserMessage(int socket, std::chrono::milliseconds timeout);

// Human-readable name of a front-end request id ("SET_MEM_TABLE"), for messages and logs.
const char* frontendRequestName(uint32_t request);

}  // namespace vdec::harness
