// SPDX-License-Identifier: MIT
// VaBlitter: GPU copies between VA surfaces with the video processing pipeline (VPP).
#pragma once

#include <memory>

#include <va/va.h>

#include "buffers/frame_layout.h"
#include "buffers/va_display.h"
#include "vdec/base/result.h"

namespace vdec::buffers {

// A VAEntrypointVideoProc config and context (destroyed with the blitter). Converts format on
// the way (NV12 -> I420/YV12) when the destination surface asks for it. One user at a time.
class VaBlitter {
 public:
  // Fails when the driver has no VPP (VaDisplay::supportsVideoProcessing()) or it cannot be set up.
  static Result<std::unique_ptr<VaBlitter>> create(std::shared_ptr<VaDisplay> display);
  ~VaBlitter();

  VaBlitter(const VaBlitter&) = delete;
  VaBlitter& operator=(const VaBlitter&) = delete;

  // Copies `region` of surface `src` to the same place in `dst`, without scaling, and waits for
  // the copy (vaSyncSurface on dst) so the guest can read the result at once.
  Status blit(VASurfaceID src, VASurfaceID dst, const Rect& region);

 private:
  explicit VaBlitter(std::shared_ptr<VaDisplay> display) : display_(std::move(display)) {}

  std::shared_ptr<VaDisplay> display_;
  VAConfigID config_ = VA_INVALID_ID;
  VAContextID context_ = VA_INVALID_ID;
};

}  // namespace vdec::buffers
