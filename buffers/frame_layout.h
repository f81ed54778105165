// SPDX-License-Identifier: MIT
// FrameLayout: where the planes of a decoded picture live inside an output resource.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vdec::buffers {

// Raw formats the device can write. All are 8-bit 4:2:0.
enum class PixelFormat {
  kNv12,  // Y plane, then interleaved UV
  kI420,  // Y, U, V planes (virtio YUV420)
  kYv12,  // Y, V, U planes (virtio YVU420)
};

std::string_view pixelFormatName(PixelFormat format);
std::optional<PixelFormat> parsePixelFormat(std::string_view name);  // "nv12", "i420", "yv12"

struct PlaneLayout {
  uint32_t offset = 0;  // from the start of the resource
  uint32_t stride = 0;  // bytes per row
  uint32_t size = 0;    // bytes of the plane (stride * rows)
  bool operator==(const PlaneLayout&) const = default;
};

struct Rect {
  uint32_t left = 0;
  uint32_t top = 0;
  uint32_t width = 0;
  uint32_t height = 0;
  bool operator==(const Rect&) const = default;
};

// The device decides the layout and announces it in GET_PARAMS(OUTPUT): `width` x `height` is
// the allocated (coded) size, the guest sees `visible` of it. Single buffer: plane i starts at
// the sum of the sizes of planes before it.
struct FrameLayout {
  PixelFormat format = PixelFormat::kNv12;
  uint32_t width = 0;   // coded width, in pixels
  uint32_t height = 0;  // allocated height, in rows (even)
  uint32_t numPlanes = 0;
  std::array<PlaneLayout, 3> planes{};
  Rect visible;

  uint64_t totalSize() const;
  bool operator==(const FrameLayout&) const = default;
};

// Layout for a picture of codedWidth x codedHeight: luma stride aligned to strideAlign (a power
// of two, >= 2), height aligned to heightAlign (power of two, >= 2). Returns nullopt if the
// sizes are zero or the frame would not fit in 32-bit plane sizes.
std::optional<FrameLayout> computeFrameLayout(PixelFormat format, uint32_t codedWidth,
                                              uint32_t codedHeight, Rect visible,
                                              uint32_t strideAlign = 64, uint32_t heightAlign = 2);

}  // namespace vdec::buffers
