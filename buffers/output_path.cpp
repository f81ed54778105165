// SPDX-License-Identifier: MIT
#include "buffers/output_path.h"

#include <fmt/format.h>

namespace vdec::buffers {

const char* outputPathName(OutputPath path) {
  switch (path) {
    case OutputPath::kDirect: return "direct";
    case OutputPath::kBlit: return "blit";
    case OutputPath::kBounce: return "bounce";
  }
  return "?";
}

namespace {

bool stridesAligned(const FrameLayout& layout, uint32_t align) {
  for (uint32_t i = 0; i < layout.numPlanes; ++i) {
    // NV12 chroma is interleaved by us, not written by the decoder: only its luma matters.
    if (layout.format == PixelFormat::kNv12 && i > 0) break;
    if (align != 0 && (layout.planes[i].stride % align != 0 || layout.planes[i].offset % align != 0)) {
      return false;
    }
  }
  return true;
}

}  // namespace

OutputPathDecision decideOutputPath(ResourceMemory& memory, const FrameLayout& layout,
                                    const OutputPathPolicy& policy) {
  if (policy.forceBounce) return {OutputPath::kBounce, "bounce forced (--copy-mode bounce, or a decoder without direct rendering: libdav1d)"};
  if (layout.totalSize() > memory.size()) {
    return {OutputPath::kBounce, fmt::format("resource of {} bytes is smaller than the frame ({})",
                                             memory.size(), layout.totalSize())};
  }
  if (!policy.enoughBuffers) {
    return {OutputPath::kBounce,
            "too few guest buffers to hold the decoder's references; decoding into host frames"};
  }
  if (policy.softwareDecoder) {
    if (!memory.sigbusSafe()) {
      // A decoder writing in place cannot be guarded against the memory shrinking under it.
      return {OutputPath::kBounce,
              fmt::format("{} is not sealed against shrinking; guarded CPU copy", memory.kind())};
    }
    if (memory.contiguous().empty()) {
      return {OutputPath::kBounce,
              fmt::format("{} has no contiguous host mapping", memory.kind())};
    }
    if (!stridesAligned(layout, policy.strideAlign)) {
      return {OutputPath::kBounce,
              fmt::format("plane strides/offsets not aligned to {} bytes", policy.strideAlign)};
    }
    return {OutputPath::kDirect, fmt::format("decoding straight into {}", memory.kind())};
  }
  if (policy.vaImportsDmaBuf) return {OutputPath::kDirect, "VA surface imported from the dma-buf"};
  if (policy.vaCanBlit) return {OutputPath::kBlit, "VA driver refused the import; VPP blit"};
  return {OutputPath::kBounce,
          policy.udmabufAvailable ? "VA import refused; CPU copy from the driver surface"
                                  : "no dma-buf for this resource (/dev/udmabuf missing); CPU "
                                    "copy from the driver surface"};
}

}  // namespace vdec::buffers
