// SPDX-License-Identifier: MIT
// The buffers a virtio-media client queues: USERPTR memory as SHARED_PAGES (guest pages in one
// run or scattered, as vb2-dma-contig / vb2-dma-sg pin them) or DMABUF as VIRTIO_OBJECT UUIDs from
// the harness's exporter; the QBUF request for each; the CAPTURE layout from G_FMT.
#pragma once

#include <linux/videodev2.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "buffers/frame_layout.h"
#include "buffers/guest_pages.h"
#include "samples/harness/media_driver.h"
#include "samples/harness/media_request.h"
#include "samples/harness/object_exporter.h"
#include "samples/harness/stream_client.h"

namespace vdec::harness {

// One single-plane buffer of a multi-planar queue, as the client holds it.
struct MediaBuffer {
  uint32_t index = 0;
  std::vector<buffers::GuestRange> ranges;  // USERPTR
  std::optional<ExportedObject> object;     // DMABUF
  uint64_t size = 0;                        // bytes allocated (the plane's length)
  bool queued = false;                      // with the device
};

// V4L2_MEMORY_USERPTR for guest pages, V4L2_MEMORY_DMABUF for objects.
uint32_t v4l2MemoryFor(OutputMemory memory);

// Allocates `size` bytes (rounded up to pages) of `memory`. On failure what was allocated stays
// in `buffer`, for releaseMediaBuffer().
Status allocateMediaBuffer(MediaDriver& driver, OutputMemory memory, uint64_t size,
                           MediaBuffer& buffer);
void releaseMediaBuffer(MediaDriver& driver, const MediaBuffer& buffer);

// The QBUF request for `buffer` on the multi-planar queue `type`, one plane of `bytesUsed`
// bytes (CAPTURE: 0), with the timestamp in microseconds.
MediaBufferRequest mediaQbufRequest(const MediaBuffer& buffer, uint32_t type, uint32_t memory,
                                    uint32_t bytesUsed, uint64_t timestampUs);

// Writes `data` at the start of the buffer.
void writeMediaBuffer(MediaDriver& driver, const MediaBuffer& buffer,
                      std::span<const std::byte> data);
// The first `size` bytes (see outputBytes()).
std::span<const std::byte> mediaBufferBytes(MediaDriver& driver, const MediaBuffer& buffer,
                                            uint64_t size, std::vector<std::byte>& scratch);

// The frame layout of a CAPTURE format with one memory plane (NV12, YUV420, YVU420: chroma
// after bytesperline x height luma rows, as V4L2's single-buffer formats are defined) and the
// visible rectangle. Fails on another format, several memory planes or inconsistent sizes.
Result<buffers::FrameLayout> layoutFromV4l2(const v4l2_pix_format_mplane& format,
                                            const v4l2_rect& visible);

// The V4L2 fourcc of a coded format / a raw pixel format (0 for none).
uint32_t v4l2CodedFourcc(codecs::CodedFormat codec);
uint32_t v4l2RawFourcc(buffers::PixelFormat format);

}  // namespace vdec::harness
