// SPDX-License-Identifier: MIT
// VaImage: CPU access to a VA surface's pixels (vaDeriveImage, or vaCreateImage + vaGetImage).
#pragma once

#include <memory>

#include <va/va.h>

#include "buffers/va_buffer_mapping.h"
#include "buffers/va_image_copy.h"
#include "buffers/va_surface.h"

namespace vdec::buffers {

// A VAImage, mapped; vaDestroyImage() on destruction (after unmapping). Read it between the
// creation and destruction only; the surface must be synchronized first (vaSyncSurface).
class VaImage {
 public:
  // vaDeriveImage(): the surface's own memory, no GPU copy. Drivers refuse it for tiled or
  // compressed surfaces (VA_STATUS_ERROR_OPERATION_FAILED), then use read().
  static Result<std::unique_ptr<VaImage>> derive(const VaSurface& surface);
  static Result<std::unique_ptr<VaImage>> derive(std::shared_ptr<VaDisplay> display,
                                                 VASurfaceID surface);
  // vaCreateImage(NV12, width x height) + vaGetImage(): a copy of the surface made by the
  // driver, for surfaces that cannot be derived.
  static Result<std::unique_ptr<VaImage>> read(std::shared_ptr<VaDisplay> display,
                                               VASurfaceID surface, uint32_t width,
                                               uint32_t height);
  ~VaImage();

  VaImage(const VaImage&) = delete;
  VaImage& operator=(const VaImage&) = delete;

  // The mapped planes; fails for fourccs other than NV12, I420 and YV12.
  Result<ImagePlanes> planes() const;
  [[nodiscard]] const VAImage& image() const { return image_; }

 private:
  VaImage(std::shared_ptr<VaDisplay> display, const VAImage& image)
      : display_(std::move(display)), image_(image) {}
  static Result<std::unique_ptr<VaImage>> adoptAndMap(std::shared_ptr<VaDisplay> display,
                                                      const VAImage& image);

  std::shared_ptr<VaDisplay> display_;
  VAImage image_{};
  VaBufferMapping mapping_;  // after image_: unmapped first
};

}  // namespace vdec::buffers
