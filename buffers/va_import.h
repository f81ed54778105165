// SPDX-License-Identifier: MIT
// importDmaBufSurface: a VA surface on a dma-buf laid out as the guest was told (DRM_PRIME_2).
#pragma once

#include <memory>

#include "buffers/frame_layout.h"
#include "buffers/va_dma_buf_source.h"
#include "buffers/va_surface.h"

namespace vdec::buffers {

// VA and DRM fourccs of a layout format (NV12; I420 = DRM YUV420; YV12 = DRM YVU420).
uint32_t vaFourcc(PixelFormat format);
uint32_t drmFourcc(PixelFormat format);

// Creates a surface of layout.width x layout.height on the dma-buf with
// VASurfaceAttribMemoryType = VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2 and one
// VADRMPRIMESurfaceDescriptor: one object (the fd, its size, the modifier), one layer with the
// layout's planes at dmaBuf.offset + plane offset and the layout's strides. Usage hint: decoder
// and VPP write. The driver may refuse (pitch alignment, modifier, format): that is an error
// naming vaCreateSurfaces() and vaErrorStr(), never assumed away. Borrows dmaBuf.fd; the surface
// keeps the memory alive by itself.
Result<std::unique_ptr<VaSurface>> importDmaBufSurface(std::shared_ptr<VaDisplay> display,
                                                       const DmaBufInfo& dmaBuf,
                                                       const FrameLayout& layout);

}  // namespace vdec::buffers
