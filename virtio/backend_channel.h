// SPDX-License-Identifier: MIT
// BackendChannel: the back-end -> front-end request socket (SET_BACKEND_REQ_FD).
#pragma once

#include <chrono>

#include "buffers/object_resolver.h"
#include "vdec/base/unique_fd.h"

namespace vdec::virtio {

// Resolves virtio object UUIDs with VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP. Owns the socket.
// Thread: the server's loop thread (the device calls lookup() while handling a command); one
// request at a time, each blocking for at most the timeout.
class BackendChannel : public buffers::ObjectResolver {
 public:
  explicit BackendChannel(UniqueFd socket,
                          std::chrono::milliseconds timeout = std::chrono::seconds(2))
      : socket_(std::move(socket)), timeout_(timeout) {}

  // kInvalidParameter for an unknown UUID (non-zero reply); kUnsupported when the front-end
  // acknowledged without attaching the fd (QEMU 10.2); kBackendFailure on a socket error or
  // timeout.
  Result<UniqueFd> lookup(const buffers::Uuid& uuid) override;

  [[nodiscard]] int fd() const { return socket_.get(); }

 private:
  UniqueFd socket_;
  std::chrono::milliseconds timeout_;
};

}  // namespace vdec::virtio
