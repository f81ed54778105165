// SPDX-License-Identifier: MIT
// ObjectResolver: turns a virtio object UUID into the dma-buf (or memfd) that backs it.
#pragma once

#include <array>
#include <cstdint>

#include "vdec/base/result.h"
#include "vdec/base/unique_fd.h"

namespace vdec::buffers {

using Uuid = std::array<uint8_t, 16>;

// Implemented by the transport (vhost-user SHARED_OBJECT_LOOKUP on the back-end channel).
// Called from the device thread; may block for one round trip to the front-end.
class ObjectResolver {
 public:
  virtual ~ObjectResolver() = default;
  // Returns an fd the caller owns, or kInvalidParameter for an unknown UUID, kUnsupported when
  // the front-end cannot deliver fds (QEMU 10.2 answers LOOKUP without the fd).
  virtual Result<UniqueFd> lookup(const Uuid& uuid) = 0;
};

}  // namespace vdec::buffers
