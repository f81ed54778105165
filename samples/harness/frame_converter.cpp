// SPDX-License-Identifier: MIT
// Frame extraction: the visible area of a decoded picture in an output resource, repacked
// losslessly (no scaling, chroma reshuffled only) into a dump format.
#include "samples/harness/frame_converter.h"

#include <cstring>

namespace vdec::harness {

namespace {

struct PlaneView {
  std::span<const std::byte> resource;
  uint64_t offset = 0;
  uint32_t stride = 0;
};

// Checks that rows [row0, row0 + rows) x bytes [col0, col0 + cols) of the plane lie inside
// the resource.
Status checkPlane(const PlaneView& plane, uint32_t row0, uint32_t rows, uint32_t col0,
                  uint32_t cols, const char* name) {
  if (rows == 0 || cols == 0) return okStatus();
  uint64_t last =
      plane.offset + static_cast<uint64_t>(row0 + rows - 1) * plane.stride + col0 + cols;
  if (last > plane.resource.size())
    return makeError(ErrorCode::kInvalidParameter,
                     "{} plane (offset {}, stride {}) needs {} bytes, resource has {}", name,
                     plane.offset, plane.stride, last, plane.resource.size());
  return okStatus();
}

const std::byte* rowAt(const PlaneView& plane, uint32_t row, uint32_t col) {
  return plane.resource.data() + plane.offset + static_cast<uint64_t>(row) * plane.stride + col;
}

}  // namespace

std::string_view dumpFormatName(DumpFormat format) {
  return format == DumpFormat::kNv12 ? "nv12" : "yuv420p";
}

std::optional<DumpFormat> parseDumpFormat(std::string_view name) {
  if (name == "yuv420p" || name == "i420") return DumpFormat::kYuv420p;
  if (name == "nv12") return DumpFormat::kNv12;
  return std::nullopt;
}

Result<buffers::FrameLayout> layoutFromParams(const wire::virtio_video_params& params) {
  buffers::FrameLayout layout;
  uint32_t expectedPlanes = 3;
  switch (params.format) {
    case wire::VIRTIO_VIDEO_FORMAT_NV12:
      layout.format = buffers::PixelFormat::kNv12;
      expectedPlanes = 2;
      break;
    case wire::VIRTIO_VIDEO_FORMAT_YUV420:
      layout.format = buffers::PixelFormat::kI420;
      break;
    case wire::VIRTIO_VIDEO_FORMAT_YVU420:
      layout.format = buffers::PixelFormat::kYv12;
      break;
    default:
      return makeError(ErrorCode::kUnsupported, "output format {} is not a 4:2:0 raw format",
                       params.format);
  }
  if (params.frame_width == 0 || params.frame_height == 0 || params.num_planes == 0)
    return makeError(ErrorCode::kInvalidParameter, "empty output params ({}x{}, {} planes)",
                     params.frame_width, params.frame_height, params.num_planes);
  layout.width = params.frame_width;
  layout.height = params.frame_height;
  layout.numPlanes = expectedPlanes;
  const uint32_t lumaStride = params.plane_formats[0].stride;
  if (lumaStride < params.frame_width)
    return makeError(ErrorCode::kInvalidParameter, "luma stride {} < width {}", lumaStride,
                     params.frame_width);
  uint64_t offset = 0;
  for (uint32_t i = 0; i < expectedPlanes; ++i) {
    buffers::PlaneLayout& plane = layout.planes[i];
    if (i < params.num_planes) {
      plane.stride = params.plane_formats[i].stride;
      plane.size = params.plane_formats[i].plane_size;
    } else if (params.num_planes == 1) {
      // One reported plane: the classic V4L2 single-buffer layout, chroma after luma rows.
      uint32_t rows = i == 0 ? layout.height : (layout.height + 1) / 2;
      plane.stride =
          layout.format == buffers::PixelFormat::kNv12 ? lumaStride : (lumaStride + 1) / 2;
      plane.size = plane.stride * rows;
    } else {
      return makeError(ErrorCode::kInvalidParameter, "{} planes reported for a {}-plane format",
                       params.num_planes, expectedPlanes);
    }
    if (i == 0 && params.num_planes == 1) plane.size = lumaStride * layout.height;
    if (offset > UINT32_MAX)
      return makeError(ErrorCode::kInvalidParameter, "plane offsets overflow 32 bits");
    plane.offset = static_cast<uint32_t>(offset);
    offset += plane.size;
  }
  const wire::virtio_video_crop& crop = params.crop;
  if (crop.width == 0 || crop.height == 0) {
    layout.visible = {0, 0, layout.width, layout.height};
  } else {
    layout.visible = {crop.left, crop.top, crop.width, crop.height};
    if (uint64_t{crop.left} + crop.width > layout.width ||
        uint64_t{crop.top} + crop.height > layout.height)
      return makeError(ErrorCode::kInvalidParameter, "crop {}x{}+{}+{} outside {}x{} frame",
                       crop.width, crop.height, crop.left, crop.top, layout.width, layout.height);
  }
  return layout;
}

Status packVisibleFrame(std::span<const std::byte> resource, const buffers::FrameLayout& layout,
                        DumpFormat format, PackedFrame& out) {
  const buffers::Rect& rect = layout.visible;
  const uint32_t w = rect.width;
  const uint32_t h = rect.height;
  const uint32_t cw = (w + 1) / 2;
  const uint32_t ch = (h + 1) / 2;
  const uint32_t cx = rect.left / 2;
  const uint32_t cy = rect.top / 2;

  PlaneView luma{resource, layout.planes[0].offset, layout.planes[0].stride};
  VDEC_TRY(checkPlane(luma, rect.top, h, rect.left, w, "luma"));

  // Source chroma: either one interleaved plane or separate U and V planes.
  const bool srcInterleaved = layout.format == buffers::PixelFormat::kNv12;
  PlaneView uv{resource, layout.planes[1].offset, layout.planes[1].stride};
  PlaneView u = uv;
  PlaneView v{resource, layout.planes[2].offset, layout.planes[2].stride};
  if (srcInterleaved) {
    VDEC_TRY(checkPlane(uv, cy, ch, cx * 2, cw * 2, "chroma"));
  } else {
    if (layout.format == buffers::PixelFormat::kYv12) std::swap(u, v);
    VDEC_TRY(checkPlane(u, cy, ch, cx, cw, "U"));
    VDEC_TRY(checkPlane(v, cy, ch, cx, cw, "V"));
  }

  out.format = format;
  out.width = w;
  out.height = h;
  const size_t lumaBytes = size_t{w} * h;
  const size_t chromaBytes = size_t{cw} * ch;
  out.bytes.resize(lumaBytes + 2 * chromaBytes);
  std::byte* dst = out.bytes.data();
  for (uint32_t y = 0; y < h; ++y, dst += w)
    std::memcpy(dst, rowAt(luma, rect.top + y, rect.left), w);

  if (format == DumpFormat::kYuv420p) {
    std::byte* dstU = out.bytes.data() + lumaBytes;
    std::byte* dstV = dstU + chromaBytes;
    for (uint32_t y = 0; y < ch; ++y, dstU += cw, dstV += cw) {
      if (srcInterleaved) {
        const std::byte* src = rowAt(uv, cy + y, cx * 2);
        for (uint32_t x = 0; x < cw; ++x) {
          dstU[x] = src[2 * x];
          dstV[x] = src[2 * x + 1];
        }
      } else {
        std::memcpy(dstU, rowAt(u, cy + y, cx), cw);
        std::memcpy(dstV, rowAt(v, cy + y, cx), cw);
      }
    }
  } else {
    std::byte* dstUv = out.bytes.data() + lumaBytes;
    for (uint32_t y = 0; y < ch; ++y, dstUv += 2 * cw) {
      if (srcInterleaved) {
        std::memcpy(dstUv, rowAt(uv, cy + y, cx * 2), 2 * size_t{cw});
      } else {
        const std::byte* srcU = rowAt(u, cy + y, cx);
        const std::byte* srcV = rowAt(v, cy + y, cx);
        for (uint32_t x = 0; x < cw; ++x) {
          dstUv[2 * x] = srcU[x];
          dstUv[2 * x + 1] = srcV[x];
        }
      }
    }
  }
  return okStatus();
}

}  // namespace vdec::harness
