// SPDX-License-Identifier: MIT
#include "buffers/va_surface.h"

#include <array>

#include "vdec/base/logging.h"

namespace vdec::buffers {

Result<std::unique_ptr<VaSurface>> VaSurface::create(std::shared_ptr<VaDisplay> display,
                                                     unsigned int rtFormat, uint32_t fourcc,
                                                     uint32_t width, uint32_t height) {
  if (!display) return makeError(ErrorCode::kInvalidParameter, "no VA display");
  std::array<VASurfaceAttrib, 1> attribs{};
  unsigned int numAttribs = 0;
  if (fourcc != 0) {
    attribs[0].type = VASurfaceAttribPixelFormat;
    attribs[0].flags = VA_SURFACE_ATTRIB_SETTABLE;
    attribs[0].value.type = VAGenericValueTypeInteger;
    attribs[0].value.value.i = static_cast<int>(fourcc);
    numAttribs = 1;
  }
  VASurfaceID id = VA_INVALID_SURFACE;
  const VAStatus status = vaCreateSurfaces(display->get(), rtFormat, width, height, &id, 1,
                                           numAttribs > 0 ? attribs.data() : nullptr, numAttribs);
  if (status != VA_STATUS_SUCCESS) {
    return makeError(ErrorCode::kBackendFailure, "{} ({}x{})",
                     vaCallError("vaCreateSurfaces()", status), width, height);
  }
  return adopt(std::move(display), id, width, height);
}

std::unique_ptr<VaSurface> VaSurface::adopt(std::shared_ptr<VaDisplay> display, VASurfaceID id,
                                            uint32_t width, uint32_t height) {
  return std::unique_ptr<VaSurface>(new VaSurface(std::move(display), id, width, height));
}

VaSurface::~VaSurface() {
  if (id_ == VA_INVALID_SURFACE) return;
  if (VAStatus status = vaDestroySurfaces(display_->get(), &id_, 1); status != VA_STATUS_SUCCESS) {
    logs::buffers().warn("va: surface {:#x}: {}", id_, vaCallError("vaDestroySurfaces()", status));
  }
}

Status VaSurface::sync() const { return syncSurface(*display_, id_); }

Status syncSurface(const VaDisplay& display, VASurfaceID id) {
  if (VAStatus status = vaSyncSurface(display.get(), id); status != VA_STATUS_SUCCESS) {
    return makeError(ErrorCode::kBackendFailure, "surface {:#x}: {}", id,
                     vaCallError("vaSyncSurface()", status));
  }
  return okStatus();
}

}  // namespace vdec::buffers
