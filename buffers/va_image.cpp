// SPDX-License-Identifier: MIT
#include "buffers/va_image.h"

#include "vdec/base/logging.h"

namespace vdec::buffers {

Result<std::unique_ptr<VaImage>> VaImage::derive(const VaSurface& surface) {
  return derive(surface.display(), surface.id());
}

Result<std::unique_ptr<VaImage>> VaImage::derive(std::shared_ptr<VaDisplay> display,
                                                 VASurfaceID surface) {
  VAImage image{};
  image.image_id = VA_INVALID_ID;
  if (VAStatus s = vaDeriveImage(display->get(), surface, &image); s != VA_STATUS_SUCCESS) {
    return makeError(ErrorCode::kUnsupported, "surface {:#x}: {}", surface,
                     vaCallError("vaDeriveImage()", s));
  }
  return adoptAndMap(std::move(display), image);
}

Result<std::unique_ptr<VaImage>> VaImage::read(std::shared_ptr<VaDisplay> display,
                                               VASurfaceID surface, uint32_t width,
                                               uint32_t height) {
  VAImageFormat format{};
  format.fourcc = VA_FOURCC_NV12;
  format.byte_order = VA_LSB_FIRST;
  format.bits_per_pixel = 12;
  VAImage image{};
  image.image_id = VA_INVALID_ID;
  if (VAStatus s = vaCreateImage(display->get(), &format, static_cast<int>(width),
                                 static_cast<int>(height), &image);
      s != VA_STATUS_SUCCESS) {
    return makeError(ErrorCode::kBackendFailure, "{} (NV12 {}x{})",
                     vaCallError("vaCreateImage()", s), width, height);
  }
  // Owned from here: the destructor destroys the image on every path below.
  std::unique_ptr<VaImage> owner(new VaImage(display, image));
  if (VAStatus s = vaGetImage(display->get(), surface, 0, 0, width, height, image.image_id);
      s != VA_STATUS_SUCCESS) {
    return makeError(ErrorCode::kBackendFailure, "surface {:#x}: {}", surface,
                     vaCallError("vaGetImage()", s));
  }
  VDEC_ASSIGN_OR_RETURN(owner->mapping_, VaBufferMapping::map(std::move(display), image.buf));
  return owner;
}

Result<std::unique_ptr<VaImage>> VaImage::adoptAndMap(std::shared_ptr<VaDisplay> display,
                                                      const VAImage& image) {
  std::unique_ptr<VaImage> owner(new VaImage(display, image));
  VDEC_ASSIGN_OR_RETURN(owner->mapping_, VaBufferMapping::map(std::move(display), image.buf));
  return owner;
}

VaImage::~VaImage() {
  mapping_.reset();
  if (image_.image_id == VA_INVALID_ID) return;
  if (VAStatus s = vaDestroyImage(display_->get(), image_.image_id); s != VA_STATUS_SUCCESS) {
    logs::buffers().warn("va: image {:#x}: {}", image_.image_id, vaCallError("vaDestroyImage()", s));
  }
}

Result<ImagePlanes> VaImage::planes() const {
  ImagePlanes planes;
  switch (image_.format.fourcc) {
    case VA_FOURCC_NV12: planes.format = PixelFormat::kNv12; break;
    case VA_FOURCC_I420: planes.format = PixelFormat::kI420; break;
    case VA_FOURCC_YV12: planes.format = PixelFormat::kYv12; break;
    default: {
      const uint32_t f = image_.format.fourcc;
      return makeError(ErrorCode::kUnsupported, "VA image fourcc {:c}{:c}{:c}{:c} is not 4:2:0",
                       static_cast<char>(f & 0xff), static_cast<char>((f >> 8) & 0xff),
                       static_cast<char>((f >> 16) & 0xff), static_cast<char>(f >> 24));
    }
  }
  const uint32_t numPlanes = planes.format == PixelFormat::kNv12 ? 2 : 3;
  if (image_.num_planes < numPlanes || mapping_.data() == nullptr) {
    return makeError(ErrorCode::kBackendFailure, "VA image has {} planes, expected {}",
                     image_.num_planes, numPlanes);
  }
  for (uint32_t i = 0; i < numPlanes; ++i) {
    if (image_.offsets[i] >= image_.data_size) {
      return makeError(ErrorCode::kBackendFailure, "VA image plane {} offset {} beyond {} bytes",
                       i, image_.offsets[i], image_.data_size);
    }
    planes.data[i] = mapping_.data() + image_.offsets[i];
    planes.pitch[i] = image_.pitches[i];
  }
  planes.width = image_.width;
  planes.height = image_.height;
  return planes;
}

}  // namespace vdec::buffers
