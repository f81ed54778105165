// SPDX-License-Identifier: MIT
#include "virtio/backend_channel.h"

#include <poll.h>

#include <cerrno>
#include <cstring>

#include "vdec/base/logging.h"
#include "vdec/base/wire.h"
#include "virtio/vhost_user_message.h"

namespace vdec::virtio {

bool BackendChannel::drainLateReplies() {
  while (unanswered_ > 0 && !broken_) {
    pollfd pfd{socket_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 0) <= 0) return false;  // still nothing
    auto late = receiveMessage(socket_.get(), kMessageTimeout);
    if (!late || !*late || (*late)->oversized) {
      broken_ = true;
      return false;
    }
    --unanswered_;  // its fds, if any, are closed here
  }
  return !broken_;
}

Result<UniqueFd> BackendChannel::lookup(const buffers::Uuid& uuid) {
  if (broken_) {
    return makeError(ErrorCode::kBackendFailure, "back-end channel out of sync or closed");
  }
  if (!drainLateReplies()) {
    return makeError(ErrorCode::kBackendFailure,
                     "front-end has not answered an earlier SHARED_OBJECT_LOOKUP (timed out "
                     "after {} ms); not asking again until it does",
                     timeout_.count());
  }
  vhost::VhostUserShared shared{};
  std::memcpy(shared.uuid, uuid.data(), sizeof(shared.uuid));
  const vhost::VhostUserHeader header{vhost::VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP,
                                      vhost::VHOST_USER_VERSION | vhost::VHOST_USER_NEED_REPLY_MASK,
                                      0};
  if (Status sent = sendMessage(socket_.get(), header, toBytes(shared)); !sent) {
    broken_ = true;  // possibly a partial message on the stream
    return makeError(std::move(sent.error()));
  }

  pollfd pfd{socket_.get(), POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&pfd, 1, static_cast<int>(timeout_.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) {
    ++unanswered_;
    logs::virtio().warn("front-end did not answer SHARED_OBJECT_LOOKUP within {} ms",
                        timeout_.count());
    return makeError(ErrorCode::kBackendFailure, "SHARED_OBJECT_LOOKUP timed out after {} ms",
                     timeout_.count());
  }
  auto reply = receiveMessage(socket_.get(), kMessageTimeout);
  if (!reply) {
    broken_ = true;
    return makeError(std::move(reply.error()));
  }
  if (!*reply) {
    broken_ = true;
    return makeError(ErrorCode::kBackendFailure, "front-end closed the back-end channel");
  }
  if ((*reply)->oversized ||
      (*reply)->header.request != vhost::VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP ||
      ((*reply)->header.flags & vhost::VHOST_USER_REPLY_MASK) == 0) {
    broken_ = (*reply)->oversized;
    return makeError(ErrorCode::kBackendFailure,
                     "unexpected reply to SHARED_OBJECT_LOOKUP: request {} flags {:#x} size {}",
                     (*reply)->header.request, (*reply)->header.flags, (*reply)->header.size);
  }
  VDEC_ASSIGN_OR_RETURN(uint64_t result, readWire<uint64_t>((*reply)->payload));
  if (result != 0) {
    return makeError(ErrorCode::kInvalidParameter, "unknown uuid (front-end answered {})", result);
  }
  if ((*reply)->fds.empty()) {
    return makeError(ErrorCode::kUnsupported,
                     "front-end answered SHARED_OBJECT_LOOKUP without an fd (QEMU 10.2 "
                     "behaviour); virtio objects cannot be imported");
  }
  // Extra fds (not expected) are closed when the reply goes out of scope.
  return std::move((*reply)->fds.front());
}

}  // namespace vdec::virtio
