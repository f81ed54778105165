// SPDX-License-Identifier: MIT
#include "buffers/frame_writer.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "buffers/chroma_interleave.h"

namespace vdec::buffers {
namespace {

// Writes one row either straight into a contiguous mapping or through the scatter path.
class RowSink {
 public:
  explicit RowSink(ResourceMemory& dst) : dst_(dst), mapping_(dst.contiguous()) {}
  // Returns a pointer to write `length` bytes at offset directly, or nullptr (then use put()).
  uint8_t* direct(uint64_t offset) {
    return mapping_.empty() ? nullptr : reinterpret_cast<uint8_t*>(mapping_.data() + offset);
  }
  Status put(uint64_t offset, const uint8_t* data, size_t length) {
    return dst_.write(offset, {reinterpret_cast<const std::byte*>(data), length});
  }

 private:
  ResourceMemory& dst_;
  std::span<std::byte> mapping_;
};

Status copyPlane(RowSink& sink, const PlaneLayout& plane, const uint8_t* src, int srcStride,
                 uint32_t rowBytes, uint32_t rows) {
  for (uint32_t y = 0; y < rows; ++y) {
    const uint8_t* row = src + static_cast<ptrdiff_t>(y) * srcStride;
    uint64_t offset = plane.offset + static_cast<uint64_t>(y) * plane.stride;
    if (uint8_t* out = sink.direct(offset)) {
      std::memcpy(out, row, rowBytes);
    } else {
      VDEC_TRY(sink.put(offset, row, rowBytes));
    }
  }
  return okStatus();
}

Status interleaveChroma(RowSink& sink, const PlaneLayout& plane, const PlanarPicture& picture,
                        uint32_t chromaWidth, uint32_t chromaRows) {
  std::vector<uint8_t> scratch;
  for (uint32_t y = 0; y < chromaRows; ++y) {
    const uint8_t* u = picture.planes[1] + static_cast<ptrdiff_t>(y) * picture.strides[1];
    const uint8_t* v = picture.planes[2] + static_cast<ptrdiff_t>(y) * picture.strides[2];
    uint64_t offset = plane.offset + static_cast<uint64_t>(y) * plane.stride;
    uint8_t* out = sink.direct(offset);
    if (out == nullptr) {
      scratch.resize(chromaWidth * 2);
      out = scratch.data();
    }
    const bool toScratch = out == scratch.data();
    interleaveUvRow(u, v, out, chromaWidth, toScratch ? RowStore::kCached : RowStore::kStreaming);
    if (toScratch) VDEC_TRY(sink.put(offset, out, chromaWidth * 2));
  }
  interleaveFence();
  return okStatus();
}

}  // namespace

static Result<uint64_t> writePlanes(ResourceMemory& dst, const FrameLayout& layout,
                                    const PlanarPicture& picture);

Result<uint64_t> writePicture(ResourceMemory& dst, const FrameLayout& layout,
                              const PlanarPicture& picture) {
  if (layout.totalSize() > dst.size()) {
    return makeError(ErrorCode::kInvalidParameter, "frame of {} bytes does not fit resource of {}",
                     layout.totalSize(), dst.size());
  }
  if (picture.width > layout.planes[0].stride || picture.height > layout.height) {
    return makeError(ErrorCode::kInvalidParameter, "picture {}x{} larger than layout {}x{}",
                     picture.width, picture.height, layout.planes[0].stride, layout.height);
  }
  dst.beginCpuAccess();
  auto written = writePlanes(dst, layout, picture);
  dst.endCpuAccess();
  return written;
}

static Result<uint64_t> writePlanes(ResourceMemory& dst, const FrameLayout& layout,
                                    const PlanarPicture& picture) {
  RowSink sink(dst);
  const uint32_t chromaWidth = (picture.width + 1) / 2;
  const uint32_t chromaRows = (picture.height + 1) / 2;
  VDEC_TRY(copyPlane(sink, layout.planes[0], picture.planes[0], picture.strides[0], picture.width,
                     picture.height));
  uint64_t written = static_cast<uint64_t>(picture.width) * picture.height;
  switch (layout.format) {
    case PixelFormat::kNv12:
      VDEC_TRY(interleaveChroma(sink, layout.planes[1], picture, chromaWidth, chromaRows));
      break;
    case PixelFormat::kI420:
    case PixelFormat::kYv12: {
      const bool swap = layout.format == PixelFormat::kYv12;
      const PlaneLayout& uPlane = layout.planes[swap ? 2 : 1];
      const PlaneLayout& vPlane = layout.planes[swap ? 1 : 2];
      VDEC_TRY(copyPlane(sink, uPlane, picture.planes[1], picture.strides[1], chromaWidth,
                         chromaRows));
      VDEC_TRY(copyPlane(sink, vPlane, picture.planes[2], picture.strides[2], chromaWidth,
                         chromaRows));
      break;
    }
  }
  written += 2ull * chromaWidth * chromaRows;
  return written;
}

}  // namespace vdec::buffers
