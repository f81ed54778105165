// SPDX-License-Identifier: MIT
// Copies a decoded 8-bit 4:2:0 planar picture into a resource in a FrameLayout (the bounce copy).
#pragma once

#include <cstdint>

#include "buffers/frame_layout.h"
#include "buffers/resource_memory.h"

namespace vdec::buffers {

// A planar Y/U/V picture in host memory (libavcodec yuv420p), width x height pixels.
struct PlanarPicture {
  const uint8_t* planes[3] = {nullptr, nullptr, nullptr};
  int strides[3] = {0, 0, 0};
  uint32_t width = 0;
  uint32_t height = 0;
};

// Writes picture rows [0, min(picture, layout) size) into dst at the layout's planes, converting
// to layout.format (NV12 interleaves chroma; I420/YV12 copy planes). Returns the bytes written.
// Fails without writing if the layout does not fit in dst or the picture is larger than layout.
Result<uint64_t> writePicture(ResourceMemory& dst, const FrameLayout& layout,
                              const PlanarPicture& picture);

}  // namespace vdec::buffers
