// SPDX-License-Identifier: MIT
// BackendChannel: the back-end -> front-end request socket (SET_BACKEND_REQ_FD).
#pragma once

#include <chrono>

#include "buffers/object_resolver.h"
#include "vdec/base/unique_fd.h"

namespace vdec::virtio {

// Resolves virtio object UUIDs with VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP. Owns the socket.
// Thread: the server's loop thread (the device calls lookup() while handling a command); one
// request at a time.
//
// Bounded: one lookup waits at most `timeout` (kLookupTimeout) for its reply. A front-end that
// let a lookup time out is not asked again until its late reply has arrived (it is read and
// dropped before the next request, so replies never pair with the wrong request): until then
// lookups fail at once. A front-end that never answers costs the device thread one timeout per
// connection, not one per command.
class BackendChannel : public buffers::ObjectResolver {
 public:
  static constexpr std::chrono::milliseconds kLookupTimeout{200};

  explicit BackendChannel(UniqueFd socket, std::chrono::milliseconds timeout = kLookupTimeout)
      : socket_(std::move(socket)), timeout_(timeout) {}

  // kInvalidParameter for an unknown UUID (non-zero reply); kUnsupported when the front-end
  // acknowledged without attaching the fd (QEMU 10.2); kBackendFailure on a socket error, a
  // timeout, or while an earlier timed-out lookup is still unanswered.
  Result<UniqueFd> lookup(const buffers::Uuid& uuid) override;

  [[nodiscard]] int fd() const { return socket_.get(); }

 private:
  // Reads and drops replies that arrived after their lookup timed out; false if some are still
  // missing (or the socket broke).
  bool drainLateReplies();

  UniqueFd socket_;
  std::chrono::milliseconds timeout_;
  unsigned unanswered_ = 0;  // lookups that timed out and whose reply has not arrived yet
  bool broken_ = false;      // the stream is out of sync or closed: every lookup fails
};

}  // namespace vdec::virtio
