// SPDX-License-Identifier: MIT
// VaSurface: one VA surface (driver-allocated or imported), destroyed with its owner.
#pragma once

#include <cstdint>
#include <memory>

#include <va/va.h>

#include "buffers/va_display.h"
#include "vdec/base/result.h"

namespace vdec::buffers {

// Lifecycle:
//
//   create() / importDmaBufSurface() / adopt()  ->  decode target, VPP source or destination,
//   vaDeriveImage() source  ->  ~VaSurface(): vaDestroySurfaces()
//
// Holds the display, so the display outlives the surface. An imported surface keeps the
// dma-buf's memory alive by itself: the fd it came from may be closed once import returns.
// Not thread-safe by itself; one user at a time.
class VaSurface {
 public:
  // A driver-allocated surface of `rtFormat` (VA_RT_FORMAT_YUV420) and `fourcc` (0 = driver's
  // choice), width x height pixels.
  static Result<std::unique_ptr<VaSurface>> create(std::shared_ptr<VaDisplay> display,
                                                   unsigned int rtFormat, uint32_t fourcc,
                                                   uint32_t width, uint32_t height);
  // Takes ownership of a surface created on `display` by other code.
  static std::unique_ptr<VaSurface> adopt(std::shared_ptr<VaDisplay> display, VASurfaceID id,
                                          uint32_t width, uint32_t height);
  ~VaSurface();

  VaSurface(const VaSurface&) = delete;
  VaSurface& operator=(const VaSurface&) = delete;

  [[nodiscard]] VASurfaceID id() const { return id_; }
  [[nodiscard]] uint32_t width() const { return width_; }
  [[nodiscard]] uint32_t height() const { return height_; }
  [[nodiscard]] const std::shared_ptr<VaDisplay>& display() const { return display_; }

  // vaSyncSurface(): waits until all rendering into the surface has finished.
  Status sync() const;

 private:
  VaSurface(std::shared_ptr<VaDisplay> display, VASurfaceID id, uint32_t width, uint32_t height)
      : display_(std::move(display)), id_(id), width_(width), height_(height) {}

  std::shared_ptr<VaDisplay> display_;
  VASurfaceID id_ = VA_INVALID_SURFACE;
  uint32_t width_ = 0;
  uint32_t height_ = 0;
};

// Waits for rendering into surface `id` of `display` (for surfaces owned elsewhere, e.g. by
// FFmpeg's pool).
Status syncSurface(const VaDisplay& display, VASurfaceID id);

}  // namespace vdec::buffers
