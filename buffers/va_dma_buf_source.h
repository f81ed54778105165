// SPDX-License-Identifier: MIT
// DmaBufSource: a resource that can show its bytes as a dma-buf, for VA-API import.
#pragma once

#include <cstdint>

#include "vdec/base/result.h"

namespace vdec::buffers {

// DRM format modifiers (values of drm_fourcc.h, which needs libdrm's headers).
inline constexpr uint64_t kDrmModifierLinear = 0;
inline constexpr uint64_t kDrmModifierInvalid = 0x00ffffffffffffffULL;

// A dma-buf as VA-API's DRM_PRIME_2 import wants it.
struct DmaBufInfo {
  int fd = -1;           // borrowed: valid as long as the DmaBufSource that returned it
  uint64_t size = 0;     // bytes of the whole dma-buf
  uint64_t offset = 0;   // where the resource (plane offsets 0) starts inside the dma-buf
  uint64_t modifier = kDrmModifierLinear;  // the guest was told linear strides and offsets
};

// Implemented by ResourceMemory types that have (or can make) a dma-buf: virtio objects (the
// fd from SHARED_OBJECT_LOOKUP) and guest pages turned into a udmabuf. A VA-API session finds it
// with dynamic_cast on the ResourceMemory it was lent. Thread: same rules as ResourceMemory.
class DmaBufSource {
 public:
  virtual ~DmaBufSource() = default;
  // The dma-buf, or why there is none (e.g. "/dev/udmabuf does not exist"). May create it on
  // first call; later calls return the same result.
  virtual Result<DmaBufInfo> dmaBuf() = 0;
};

}  // namespace vdec::buffers
