// SPDX-License-Identifier: MIT
// Buffers of a virtio-media client: allocation, QBUF requests, reading back, CAPTURE layout.
#include "samples/harness/media_buffers.h"

#include <algorithm>
#include <cstring>

namespace vdec::harness {

uint32_t v4l2MemoryFor(OutputMemory memory) {
  return memory == OutputMemory::kObject ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_USERPTR;
}

Status allocateMediaBuffer(MediaDriver& driver, OutputMemory memory, uint64_t size,
                           MediaBuffer& buffer) {
  buffer.size = pageAlign(std::max<uint64_t>(size, 1));
  switch (memory) {
    case OutputMemory::kContiguous: {
      VDEC_ASSIGN_OR_RETURN(buffers::GuestRange range, driver.ram().allocContiguous(buffer.size));
      buffer.ranges.push_back(range);
      break;
    }
    case OutputMemory::kScattered: {
      VDEC_ASSIGN_OR_RETURN(buffer.ranges, driver.ram().allocScattered(buffer.size));
      break;
    }
    case OutputMemory::kObject: {
      VDEC_ASSIGN_OR_RETURN(buffer.object, driver.exporter().allocate(buffer.size));
      break;
    }
  }
  return okStatus();
}

void releaseMediaBuffer(MediaDriver& driver, const MediaBuffer& buffer) {
  for (const buffers::GuestRange& range : buffer.ranges) driver.ram().free(range);
  if (buffer.object) driver.exporter().release(buffer.object->uuid);
}

MediaBufferRequest mediaQbufRequest(const MediaBuffer& buffer, uint32_t type, uint32_t memory,
                                    uint32_t bytesUsed, uint64_t timestampUs) {
  MediaBufferRequest request;
  wire::v4l2_buffer& b = request.buffer;
  b.index = buffer.index;
  b.type = type;
  b.memory = memory;
  b.field = V4L2_FIELD_NONE;
  b.timestamp_sec = static_cast<int64_t>(timestampUs / 1000000);
  b.timestamp_usec = static_cast<int64_t>(timestampUs % 1000000);
  b.length = 1;  // planes
  b.m = 0;       // the planes pointer: ignored on the wire
  wire::v4l2_plane plane{};
  plane.bytesused = bytesUsed;
  plane.length = static_cast<uint32_t>(buffer.size);
  if (memory == V4L2_MEMORY_DMABUF) {
    plane.m = 100 + buffer.index;  // the fd placeholder, left unchanged by the driver
    request.objects.push_back(buffer.object->uuid);
  } else {
    // A user pointer: any non-zero value (the driver zeroes the length of a null one).
    plane.m = buffer.ranges.front().address.value;
    request.sharedPages.push_back(buffer.ranges);
  }
  request.planes.push_back(plane);
  return request;
}

void writeMediaBuffer(MediaDriver& driver, const MediaBuffer& buffer,
                      std::span<const std::byte> data) {
  if (buffer.object) {
    std::memcpy(buffer.object->bytes.data(), data.data(), data.size());
    return;
  }
  driver.ram().write(buffer.ranges, 0, data);
}

std::span<const std::byte> mediaBufferBytes(MediaDriver& driver, const MediaBuffer& buffer,
                                            uint64_t size, std::vector<std::byte>& scratch) {
  size = std::min(size, buffer.size);
  if (buffer.object)
    return buffer.object->bytes.first(std::min<uint64_t>(size, buffer.object->bytes.size()));
  if (buffer.ranges.size() == 1) return driver.ram().at(buffer.ranges[0].address.value, size);
  scratch.resize(size);
  driver.ram().read(buffer.ranges, 0, scratch);
  return scratch;
}

Result<buffers::FrameLayout> layoutFromV4l2(const v4l2_pix_format_mplane& format,
                                            const v4l2_rect& visible) {
  buffers::FrameLayout layout;
  switch (format.pixelformat) {
    case V4L2_PIX_FMT_NV12: layout.format = buffers::PixelFormat::kNv12; break;
    case V4L2_PIX_FMT_YUV420: layout.format = buffers::PixelFormat::kI420; break;
    case V4L2_PIX_FMT_YVU420: layout.format = buffers::PixelFormat::kYv12; break;
    default:
      return makeError(ErrorCode::kUnsupported, "CAPTURE format {:#x} is not a 4:2:0 format",
                       format.pixelformat);
  }
  if (format.num_planes != 1)
    return makeError(ErrorCode::kUnsupported, "CAPTURE format with {} memory planes",
                     format.num_planes);
  const uint64_t stride = format.plane_fmt[0].bytesperline;
  if (format.width == 0 || format.height == 0 || stride < format.width)
    return makeError(ErrorCode::kInvalidParameter, "CAPTURE format {}x{} bytesperline {}",
                     format.width, format.height, stride);
  layout.width = format.width;
  layout.height = format.height;
  const uint64_t luma = stride * format.height;
  const uint64_t chromaRows = (format.height + 1) / 2;
  if (layout.format == buffers::PixelFormat::kNv12) {
    layout.numPlanes = 2;
    layout.planes[0] = {0, uint32_t(stride), uint32_t(luma)};
    layout.planes[1] = {uint32_t(luma), uint32_t(stride), uint32_t(stride * chromaRows)};
  } else {
    const uint64_t chromaStride = (stride + 1) / 2;
    const uint64_t chroma = chromaStride * chromaRows;
    layout.numPlanes = 3;
    layout.planes[0] = {0, uint32_t(stride), uint32_t(luma)};
    layout.planes[1] = {uint32_t(luma), uint32_t(chromaStride), uint32_t(chroma)};
    layout.planes[2] = {uint32_t(luma + chroma), uint32_t(chromaStride), uint32_t(chroma)};
  }
  if (layout.totalSize() > format.plane_fmt[0].sizeimage)
    return makeError(ErrorCode::kInvalidParameter, "CAPTURE sizeimage {} < {} bytes of planes",
                     format.plane_fmt[0].sizeimage, layout.totalSize());
  if (visible.width == 0 || visible.height == 0) {
    layout.visible = {0, 0, format.width, format.height};
  } else {
    if (visible.left < 0 || visible.top < 0 ||
        uint64_t(visible.left) + visible.width > format.width ||
        uint64_t(visible.top) + visible.height > format.height)
      return makeError(ErrorCode::kInvalidParameter, "visible {}x{}+{}+{} outside {}x{}",
                       visible.width, visible.height, visible.left, visible.top, format.width,
                       format.height);
    layout.visible = {uint32_t(visible.left), uint32_t(visible.top), visible.width,
                      visible.height};
  }
  return layout;
}

uint32_t v4l2CodedFourcc(codecs::CodedFormat codec) {
  switch (codec) {
    case codecs::CodedFormat::kH264: return V4L2_PIX_FMT_H264;
    case codecs::CodedFormat::kHevc: return V4L2_PIX_FMT_HEVC;
    case codecs::CodedFormat::kVp8: return V4L2_PIX_FMT_VP8;
    case codecs::CodedFormat::kVp9: return V4L2_PIX_FMT_VP9;
    // Not in Debian 12's <linux/videodev2.h>: ChromeOS's stateful AV1 format.
    case codecs::CodedFormat::kAv1: return v4l2_fourcc('A', 'V', '0', '1');
  }
  return 0;
}

uint32_t v4l2RawFourcc(buffers::PixelFormat format) {
  switch (format) {
    case buffers::PixelFormat::kNv12: return V4L2_PIX_FMT_NV12;
    case buffers::PixelFormat::kI420: return V4L2_PIX_FMT_YUV420;
    case buffers::PixelFormat::kYv12: return V4L2_PIX_FMT_YVU420;
  }
  return 0;
}

}  // namespace vdec::harness
