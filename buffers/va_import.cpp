// SPDX-License-Identifier: MIT
#include "buffers/va_import.h"

#include <va/va_drmcommon.h>

#include <array>
#include <limits>

#include <drm_fourcc.h>

namespace vdec::buffers {

static_assert(kDrmModifierLinear == DRM_FORMAT_MOD_LINEAR);
static_assert(kDrmModifierInvalid == DRM_FORMAT_MOD_INVALID);

uint32_t vaFourcc(PixelFormat format) {
  switch (format) {
    case PixelFormat::kNv12: return VA_FOURCC_NV12;
    case PixelFormat::kI420: return VA_FOURCC_I420;
    case PixelFormat::kYv12: return VA_FOURCC_YV12;
  }
  return 0;
}

uint32_t drmFourcc(PixelFormat format) {
  switch (format) {
    case PixelFormat::kNv12: return DRM_FORMAT_NV12;
    case PixelFormat::kI420: return DRM_FORMAT_YUV420;
    case PixelFormat::kYv12: return DRM_FORMAT_YVU420;
  }
  return 0;
}

Result<std::unique_ptr<VaSurface>> importDmaBufSurface(std::shared_ptr<VaDisplay> display,
                                                       const DmaBufInfo& dmaBuf,
                                                       const FrameLayout& layout) {
  if (!display) return makeError(ErrorCode::kInvalidParameter, "no VA display");
  if (dmaBuf.fd < 0) return makeError(ErrorCode::kInvalidParameter, "no dma-buf fd");
  if (layout.numPlanes == 0 || layout.numPlanes > layout.planes.size() || layout.width == 0 ||
      layout.height == 0) {
    return makeError(ErrorCode::kInvalidParameter, "empty frame layout");
  }
  // The descriptor's object size is 32 bits; the planes must lie inside the dma-buf.
  if (dmaBuf.size > std::numeric_limits<uint32_t>::max()) {
    return makeError(ErrorCode::kUnsupported, "dma-buf of {} bytes is too large to import",
                     dmaBuf.size);
  }
  for (uint32_t i = 0; i < layout.numPlanes; ++i) {
    const PlaneLayout& plane = layout.planes[i];
    if (dmaBuf.offset > dmaBuf.size || plane.offset > dmaBuf.size - dmaBuf.offset ||
        plane.size > dmaBuf.size - dmaBuf.offset - plane.offset) {
      return makeError(ErrorCode::kInvalidParameter,
                       "plane {} [{}, +{}) at offset {} is outside the dma-buf of {} bytes", i,
                       plane.offset, plane.size, dmaBuf.offset, dmaBuf.size);
    }
    if (dmaBuf.offset + plane.offset > std::numeric_limits<uint32_t>::max()) {
      return makeError(ErrorCode::kUnsupported, "plane {} offset does not fit 32 bits", i);
    }
  }

  VADRMPRIMESurfaceDescriptor descriptor{};
  descriptor.fourcc = vaFourcc(layout.format);
  descriptor.width = layout.width;
  descriptor.height = layout.height;
  descriptor.num_objects = 1;
  descriptor.objects[0].fd = dmaBuf.fd;
  descriptor.objects[0].size = static_cast<uint32_t>(dmaBuf.size);
  descriptor.objects[0].drm_format_modifier = dmaBuf.modifier;
  descriptor.num_layers = 1;
  descriptor.layers[0].drm_format = drmFourcc(layout.format);
  descriptor.layers[0].num_planes = layout.numPlanes;
  for (uint32_t i = 0; i < layout.numPlanes; ++i) {
    descriptor.layers[0].object_index[i] = 0;
    descriptor.layers[0].offset[i] = static_cast<uint32_t>(dmaBuf.offset + layout.planes[i].offset);
    descriptor.layers[0].pitch[i] = layout.planes[i].stride;
  }

  std::array<VASurfaceAttrib, 4> attribs{};
  attribs[0].type = VASurfaceAttribPixelFormat;
  attribs[0].flags = VA_SURFACE_ATTRIB_SETTABLE;
  attribs[0].value.type = VAGenericValueTypeInteger;
  attribs[0].value.value.i = static_cast<int>(descriptor.fourcc);
  attribs[1].type = VASurfaceAttribMemoryType;
  attribs[1].flags = VA_SURFACE_ATTRIB_SETTABLE;
  attribs[1].value.type = VAGenericValueTypeInteger;
  attribs[1].value.value.i = VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2;
  attribs[2].type = VASurfaceAttribExternalBufferDescriptor;
  attribs[2].flags = VA_SURFACE_ATTRIB_SETTABLE;
  attribs[2].value.type = VAGenericValueTypePointer;
  attribs[2].value.value.p = &descriptor;
  attribs[3].type = VASurfaceAttribUsageHint;
  attribs[3].flags = VA_SURFACE_ATTRIB_SETTABLE;
  attribs[3].value.type = VAGenericValueTypeInteger;
  attribs[3].value.value.i =
      VA_SURFACE_ATTRIB_USAGE_HINT_DECODER | VA_SURFACE_ATTRIB_USAGE_HINT_VPP_WRITE;

  VASurfaceID id = VA_INVALID_SURFACE;
  const VAStatus status =
      vaCreateSurfaces(display->get(), VA_RT_FORMAT_YUV420, layout.width, layout.height, &id, 1,
                       attribs.data(), static_cast<unsigned int>(attribs.size()));
  if (status != VA_STATUS_SUCCESS) {
    return makeError(ErrorCode::kUnsupported, "{} importing {} {}x{} (modifier {:#x}, pitch {})",
                     vaCallError("vaCreateSurfaces(DRM_PRIME_2)", status),
                     pixelFormatName(layout.format), layout.width, layout.height, dmaBuf.modifier,
                     layout.planes[0].stride);
  }
  return VaSurface::adopt(std::move(display), id, layout.width, layout.height);
}

}  // namespace vdec::buffers
