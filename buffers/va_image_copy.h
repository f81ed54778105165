// SPDX-License-Identifier: MIT
// copyImageToLayout: the one CPU copy of the VA bounce path, from a mapped image into the layout
// the guest was told.
#pragma once

#include <cstdint>

#include "buffers/frame_layout.h"
#include "buffers/resource_memory.h"
#include "vdec/base/result.h"

namespace vdec::buffers {

// A mapped 8-bit 4:2:0 picture (a VAImage, or any host picture), planes in memory order:
// NV12 = Y, UV; I420 = Y, U, V; YV12 = Y, V, U. Borrowed; valid for the call.
struct ImagePlanes {
  PixelFormat format = PixelFormat::kNv12;
  const uint8_t* data[3] = {nullptr, nullptr, nullptr};
  uint32_t pitch[3] = {0, 0, 0};
  uint32_t width = 0;   // pixels of the image (the surface's coded size)
  uint32_t height = 0;
};

// Copies min(image, layout) width x height pixels into `dst` at the layout's plane offsets and
// strides, converting between NV12 and I420/YV12 as needed: the ADVERTISED coded layout, never
// a packed display-size picture (crosvm writes NV12 packed at the display size, so its chroma
// lands where the guest does not look whenever coded and display heights differ). Writes into
// dst.contiguous() when it has one, else row by row through dst.write(). Returns the bytes
// written; fails without writing if a plane of the layout does not fit dst or its strides.
Result<uint64_t> copyImageToLayout(const ImagePlanes& image, ResourceMemory& dst,
                                   const FrameLayout& layout);

}  // namespace vdec::buffers
