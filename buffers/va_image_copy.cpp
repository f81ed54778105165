// SPDX-License-Identifier: MIT
#include "buffers/va_image_copy.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

namespace vdec::buffers {
namespace {

struct SourcePlanes {
  const uint8_t* y = nullptr;
  const uint8_t* u = nullptr;  // NV12: the interleaved UV plane
  const uint8_t* v = nullptr;
  uint32_t yPitch = 0, uPitch = 0, vPitch = 0;
};

SourcePlanes sourcePlanes(const ImagePlanes& image) {
  SourcePlanes s{image.data[0], image.data[1], image.data[2], image.pitch[0], image.pitch[1],
                 image.pitch[2]};
  if (image.format == PixelFormat::kYv12) {
    std::swap(s.u, s.v);
    std::swap(s.uPitch, s.vPitch);
  }
  return s;
}

// The layout plane index of U and V (NV12: both 1).
uint32_t uPlane(PixelFormat format) { return format == PixelFormat::kYv12 ? 2 : 1; }
uint32_t vPlane(PixelFormat format) {
  return format == PixelFormat::kNv12 ? 1 : (format == PixelFormat::kYv12 ? 1 : 2);
}

// Writes rows into a resource: straight into its mapping when it has one.
class RowWriter {
 public:
  explicit RowWriter(ResourceMemory& dst) : dst_(dst), mapping_(dst.contiguous()) {}
  Status write(uint64_t offset, const uint8_t* row, size_t bytes) {
    written_ += bytes;
    if (!mapping_.empty()) {
      std::memcpy(mapping_.data() + offset, row, bytes);  // bounds checked by checkPlane()
      return okStatus();
    }
    return dst_.write(offset, std::as_bytes(std::span<const uint8_t>(row, bytes)));
  }
  uint64_t written() const { return written_; }

 private:
  ResourceMemory& dst_;
  std::span<std::byte> mapping_;
  uint64_t written_ = 0;
};

Status checkPlane(const FrameLayout& layout, uint32_t index, uint64_t rowBytes, uint64_t rows,
                  uint64_t dstSize) {
  const PlaneLayout& plane = layout.planes[index];
  if (rows == 0) return okStatus();
  if (plane.stride < rowBytes || uint64_t{plane.stride} * (rows - 1) + rowBytes > plane.size ||
      uint64_t{plane.offset} + plane.size > dstSize) {
    return makeError(ErrorCode::kInvalidParameter,
                     "plane {} (offset {}, stride {}, size {}) cannot hold {} rows of {} bytes in "
                     "{} bytes",
                     index, plane.offset, plane.stride, plane.size, rows, rowBytes, dstSize);
  }
  return okStatus();
}

}  // namespace

Result<uint64_t> copyImageToLayout(const ImagePlanes& image, ResourceMemory& dst,
                                   const FrameLayout& layout) {
  const uint32_t width = std::min(image.width, layout.width);
  const uint32_t height = std::min(image.height, layout.height);
  const uint32_t chromaWidth = (width + 1) / 2;
  const uint32_t chromaHeight = (height + 1) / 2;
  const bool dstNv12 = layout.format == PixelFormat::kNv12;
  const bool srcNv12 = image.format == PixelFormat::kNv12;
  if (layout.numPlanes != (dstNv12 ? 2u : 3u)) {
    return makeError(ErrorCode::kInvalidParameter, "layout has {} planes for {}", layout.numPlanes,
                     pixelFormatName(layout.format));
  }
  VDEC_TRY(checkPlane(layout, 0, width, height, dst.size()));
  if (dstNv12) {
    VDEC_TRY(checkPlane(layout, 1, uint64_t{chromaWidth} * 2, chromaHeight, dst.size()));
  } else {
    VDEC_TRY(checkPlane(layout, 1, chromaWidth, chromaHeight, dst.size()));
    VDEC_TRY(checkPlane(layout, 2, chromaWidth, chromaHeight, dst.size()));
  }

  const SourcePlanes src = sourcePlanes(image);
  RowWriter writer(dst);
  for (uint32_t row = 0; row < height; ++row) {
    VDEC_TRY(writer.write(layout.planes[0].offset + uint64_t{row} * layout.planes[0].stride,
                          src.y + size_t{row} * src.yPitch, width));
  }
  const PlaneLayout& uDst = layout.planes[uPlane(layout.format)];
  const PlaneLayout& vDst = layout.planes[vPlane(layout.format)];
  std::vector<uint8_t> rowU(chromaWidth * 2), rowV(chromaWidth);
  for (uint32_t row = 0; row < chromaHeight; ++row) {
    const uint64_t uOffset = uDst.offset + uint64_t{row} * uDst.stride;
    const uint64_t vOffset = vDst.offset + uint64_t{row} * vDst.stride;
    if (srcNv12 && dstNv12) {
      VDEC_TRY(writer.write(uOffset, src.u + size_t{row} * src.uPitch, chromaWidth * 2));
    } else if (srcNv12) {  // deinterleave
      const uint8_t* uv = src.u + size_t{row} * src.uPitch;
      for (uint32_t x = 0; x < chromaWidth; ++x) {
        rowU[x] = uv[2 * x];
        rowV[x] = uv[2 * x + 1];
      }
      VDEC_TRY(writer.write(uOffset, rowU.data(), chromaWidth));
      VDEC_TRY(writer.write(vOffset, rowV.data(), chromaWidth));
    } else if (dstNv12) {  // interleave
      const uint8_t* u = src.u + size_t{row} * src.uPitch;
      const uint8_t* v = src.v + size_t{row} * src.vPitch;
      for (uint32_t x = 0; x < chromaWidth; ++x) {
        rowU[2 * x] = u[x];
        rowU[2 * x + 1] = v[x];
      }
      VDEC_TRY(writer.write(uOffset, rowU.data(), chromaWidth * 2));
    } else {
      VDEC_TRY(writer.write(uOffset, src.u + size_t{row} * src.uPitch, chromaWidth));
      VDEC_TRY(writer.write(vOffset, src.v + size_t{row} * src.vPitch, chromaWidth));
    }
  }
  return writer.written();
}

}  // namespace vdec::buffers
