// SPDX-License-Identifier: MIT
#include "virtio/backend_channel.h"

#include <cstring>

#include "vdec/base/logging.h"
#include "vdec/base/wire.h"
#include "virtio/vhost_user_message.h"

namespace vdec::virtio {

Result<UniqueFd> BackendChannel::lookup(const buffers::Uuid& uuid) {
  vhost::VhostUserShared shared{};
  std::memcpy(shared.uuid, uuid.data(), sizeof(shared.uuid));
  const vhost::VhostUserHeader header{vhost::VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP,
                                      vhost::VHOST_USER_VERSION | vhost::VHOST_USER_NEED_REPLY_MASK,
                                      0};
  VDEC_TRY(sendMessage(socket_.get(), header, toBytes(shared)));

  VDEC_ASSIGN_OR_RETURN(auto reply, receiveMessage(socket_.get(), timeout_));
  if (!reply) {
    return makeError(ErrorCode::kBackendFailure, "front-end closed the back-end channel");
  }
  if (reply->oversized || reply->header.request != vhost::VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP ||
      (reply->header.flags & vhost::VHOST_USER_REPLY_MASK) == 0) {
    return makeError(ErrorCode::kBackendFailure,
                     "unexpected reply to SHARED_OBJECT_LOOKUP: request {} flags {:#x} size {}",
                     reply->header.request, reply->header.flags, reply->header.size);
  }
  VDEC_ASSIGN_OR_RETURN(uint64_t result, readWire<uint64_t>(reply->payload));
  if (result != 0) {
    return makeError(ErrorCode::kInvalidParameter, "unknown uuid (front-end answered {})", result);
  }
  if (reply->fds.empty()) {
    return makeError(ErrorCode::kUnsupported,
                     "front-end answered SHARED_OBJECT_LOOKUP without an fd (QEMU 10.2 "
                     "behaviour); virtio objects cannot be imported");
  }
  // Extra fds (not expected) are closed when the reply goes out of scope.
  return std::move(reply->fds.front());
}

}  // namespace vdec::virtio
