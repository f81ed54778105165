// SPDX-License-Identifier: MIT
// Using the notification fds a front-end hands over (vring kick/call) without ever blocking.
#pragma once

#include "vdec/base/result.h"

namespace vdec::virtio {

// The protocol implies an eventfd for kick and call fds. Accepted: an eventfd, or a pipe/FIFO
// (what QEMU uses where eventfd is missing). Refused with kInvalidParameter: anything else (a
// regular file, socket, memfd, directory), which could grow without bound or never poll.
//
// The fd is switched to O_NONBLOCK. That flag lives in the open file description, which the
// front-end shares and could clear again; every use below re-checks it first, so a front-end
// can at most make one access wait if it clears the flag and drains the counter inside the
// microseconds between that check and the access.
Status prepareNotifyFd(int fd, const char* what);

enum class KickState {
  kKicked,  // at least one kick was consumed
  kEmpty,   // nothing to read (another reader was faster, or a stale event)
  kHungUp,  // end of file or error: the fd can never signal again (a pipe whose writer closed)
};

// Consumes the pending kicks of a kick fd without blocking (bounded: a few reads).
KickState drainKick(int fd);

// Signals a call fd without blocking. A full eventfd counter or pipe (EAGAIN) is success: an
// interrupt is already pending. Returns false on another error (errno is kept).
bool signalCall(int fd);

}  // namespace vdec::virtio
