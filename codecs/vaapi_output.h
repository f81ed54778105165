// SPDX-License-Identifier: MIT
// VaapiOutput: how a VA-API session gets pictures into output resources: the per-resource
// decision (dma-buf import or not, through decideOutputPath) and the copies (VPP blit, CPU
// bounce through a VA image, software frames).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "buffers/frame_layout.h"
#include "buffers/output_path.h"
#include "buffers/resource_memory.h"
#include "buffers/va_blitter.h"
#include "buffers/va_display.h"
#include "buffers/va_surface.h"
#include "vdec/base/result.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace vdec::codecs {

// What a session knows about one output resource for the current layout.
struct VaTargetPlan {
  buffers::OutputPathDecision decision;        // from decideOutputPath, reason completed
  std::shared_ptr<buffers::VaSurface> surface;  // the imported resource, or null
  bool decodable = false;  // the decoder may render into `surface` (kDirect)
};

struct VaCopyResult {
  buffers::OutputPath path = buffers::OutputPath::kBounce;
  uint64_t bytesCopied = 0;
};

// Used by one session's decoding thread only.
class VaapiOutput {
 public:
  explicit VaapiOutput(std::shared_ptr<buffers::VaDisplay> display, bool forceBounce);

  // Decides the path of `memory` for `layout` when pictures are codedWidth x codedHeight:
  // imports the resource's dma-buf (buffers::DmaBufSource) when it has one, then asks
  // decideOutputPath(). `softwareFrames`: the session fell back to software decoding, so
  // only a CPU copy can reach the resource.
  VaTargetPlan plan(buffers::ResourceMemory& memory, const buffers::FrameLayout& layout,
                    uint32_t codedWidth, uint32_t codedHeight, bool softwareFrames);

  // Copies a decoded frame (AV_PIX_FMT_VAAPI, or a software yuv420p frame) into `memory` in
  // `layout`: a VPP blit into `target` when the plan allows and the driver can, else one CPU
  // copy (vaDeriveImage, or vaGetImage where deriving fails) into the advertised layout.
  Result<VaCopyResult> copy(const AVFrame& frame, buffers::ResourceMemory& memory,
                            const buffers::FrameLayout& layout, VaTargetPlan& plan);

  const std::shared_ptr<buffers::VaDisplay>& display() const { return display_; }

 private:
  Result<uint64_t> bounceFromSurface(const AVFrame& frame, buffers::ResourceMemory& memory,
                                     const buffers::FrameLayout& layout);
  Result<uint64_t> bounceSoftware(const AVFrame& frame, buffers::ResourceMemory& memory,
                                  const buffers::FrameLayout& layout);
  buffers::VaBlitter* blitter();

  std::shared_ptr<buffers::VaDisplay> display_;
  const bool forceBounce_;
  const bool udmabufAvailable_;
  std::unique_ptr<buffers::VaBlitter> blitter_;
  bool blitterFailed_ = false;
  bool deriveFailed_ = false;
};

}  // namespace vdec::codecs
