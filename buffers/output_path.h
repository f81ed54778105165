// SPDX-License-Identifier: MIT
// The one decision of the zero-copy matrix: how a decoder gets pictures into an output resource.
#pragma once

#include <cstdint>
#include <string>

#include "buffers/frame_layout.h"
#include "buffers/resource_memory.h"

namespace vdec::buffers {

enum class OutputPath {
  kDirect,  // the decoder writes into the resource itself (zero-copy; NV12 from a planar
            // software decoder copies only the interleaved chroma)
  kBlit,    // VA-API: decode into a driver surface, GPU copy (VPP) into the imported resource
  kBounce,  // decode into a host frame or driver surface, CPU copy into the resource
};

const char* outputPathName(OutputPath path);

// What the decoder and host can do; filled by the backend (and the probe, for VA-API).
struct OutputPathPolicy {
  bool forceBounce = false;        // --copy-mode bounce
  bool softwareDecoder = true;     // libavcodec software; false = VA-API hwaccel
  uint32_t strideAlign = 64;       // what the decoder needs of a row stride for direct writes
  bool enoughBuffers = true;       // the stream has buffers for references + in flight
  bool vaImportsDmaBuf = false;    // VA driver accepted a DRM_PRIME_2 import of this resource
  bool vaCanBlit = false;          // VA driver has a VPP for a blit into the resource
  bool udmabufAvailable = false;   // guest pages can become a dma-buf (/dev/udmabuf)
};

struct OutputPathDecision {
  OutputPath path = OutputPath::kBounce;
  std::string reason;  // for the info log line and `--probe`
};

// Decides once per output resource. Pure function: no logging, no side effects.
OutputPathDecision decideOutputPath(ResourceMemory& memory, const FrameLayout& layout,
                                    const OutputPathPolicy& policy);

}  // namespace vdec::buffers
