// SPDX-License-Identifier: MIT
#include "buffers/frame_layout.h"

#include "vdec/base/wire.h"

namespace vdec::buffers {

std::string_view pixelFormatName(PixelFormat format) {
  switch (format) {
    case PixelFormat::kNv12: return "nv12";
    case PixelFormat::kI420: return "i420";
    case PixelFormat::kYv12: return "yv12";
  }
  return "?";
}

std::optional<PixelFormat> parsePixelFormat(std::string_view name) {
  if (name == "nv12") return PixelFormat::kNv12;
  if (name == "i420" || name == "yuv420") return PixelFormat::kI420;
  if (name == "yv12" || name == "yvu420") return PixelFormat::kYv12;
  return std::nullopt;
}

uint64_t FrameLayout::totalSize() const {
  uint64_t total = 0;
  for (uint32_t i = 0; i < numPlanes; ++i) total += planes[i].size;
  return total;
}

std::optional<FrameLayout> computeFrameLayout(PixelFormat format, uint32_t codedWidth,
                                              uint32_t codedHeight, Rect visible,
                                              uint32_t strideAlign, uint32_t heightAlign) {
  if (codedWidth == 0 || codedHeight == 0 || codedWidth > 16384 || codedHeight > 16384) {
    return std::nullopt;
  }
  if (strideAlign < 2) strideAlign = 2;
  if (heightAlign < 2) heightAlign = 2;
  const uint64_t stride = alignUp(codedWidth, strideAlign);
  const uint64_t height = alignUp(codedHeight, heightAlign);
  const uint64_t lumaSize = stride * height;
  if (lumaSize * 2 > UINT32_MAX) return std::nullopt;

  FrameLayout layout;
  layout.format = format;
  layout.width = codedWidth;
  layout.height = static_cast<uint32_t>(height);
  layout.visible = visible;
  const auto luma = static_cast<uint32_t>(lumaSize);
  const auto s = static_cast<uint32_t>(stride);
  if (format == PixelFormat::kNv12) {
    layout.numPlanes = 2;
    layout.planes[0] = {0, s, luma};
    layout.planes[1] = {luma, s, luma / 2};
  } else {
    const uint32_t chroma = luma / 4;
    layout.numPlanes = 3;
    layout.planes[0] = {0, s, luma};
    layout.planes[1] = {luma, s / 2, chroma};
    layout.planes[2] = {luma + chroma, s / 2, chroma};
  }
  return layout;
}

}  // namespace vdec::buffers
