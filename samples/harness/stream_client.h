// SPDX-License-Identifier: MIT
// What every guest-side client of a decode stream shares (DecodeRunner, V4l2CtlRunner and the
// benchmark's GuestStream): the virtio format codes, page alignment, a failed command's context,
// and the CAPTURE (OUTPUT queue) buffers: their backing, allocation + RESOURCE_CREATE, release
// and reading back. Free functions; none keeps state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "buffers/frame_layout.h"
#include "buffers/guest_pages.h"
#include "codecs/coded_format.h"
#include "samples/harness/object_exporter.h"
#include "samples/harness/video_driver.h"
#include "vdec/base/result.h"

namespace vdec::harness {

// Backing of the output (CAPTURE) buffers.
enum class OutputMemory {
  kContiguous,  // guest pages, one run (vb2-dma-contig)
  kScattered,   // guest pages, scattered runs (vb2-dma-sg)
  kObject,      // virtio object: exporter buffer named by UUID (DMABUF from virtio-gpu)
};

std::string_view outputMemoryName(OutputMemory memory);                // "contig", "sg", "object"
std::optional<OutputMemory> parseOutputMemory(std::string_view name);  // nullopt if unknown

// The guest page size; allocations the guest driver makes are rounded up to it.
inline constexpr uint64_t kGuestPage = 4096;

// `bytes` rounded up to a whole number of guest pages.
uint64_t pageAlign(uint64_t bytes);

// The VIRTIO_VIDEO_FORMAT_* of a coded format / a raw pixel format; 0 for none.
uint32_t virtioCodedFormat(codecs::CodedFormat codec);
uint32_t virtioRawFormat(buffers::PixelFormat format);

// `status` unchanged when it is ok; otherwise the same error code with the message prefixed by
// "<what> (stream <streamId>): ".
Status withContext(Status status, std::string_view what, uint32_t streamId);

// A stream's teardown as the guest driver does it on close(): QUEUE_CLEAR(OUTPUT) if
// `clearOutput`, QUEUE_CLEAR(INPUT) if `clearInput`, RESOURCE_DESTROY_ALL of both queues,
// STREAM_DESTROY; then drops what the clears returned (up to 16 waits of 0 ms, until one brings
// nothing), so that nothing of this stream leaks into the next one. Sends every command even
// after one fails; returns the first failure with its context (see withContext). Frees no
// guest memory: the caller releases its buffers.
Status destroyStream(VideoDriver& driver, uint32_t streamId, bool clearOutput, bool clearInput);

// One CAPTURE buffer as the guest holds it: guest pages or a virtio object, never both.
struct OutputBuffer {
  uint32_t id = 0;                          // resource id
  std::vector<buffers::GuestRange> ranges;  // guest pages
  std::optional<ExportedObject> object;     // virtio object
  uint64_t size = 0;                        // bytes allocated
  bool queued = false;                      // with the device
};

// Allocates `buffer` (id already set) with `size` bytes of `memory` and sends
// RESOURCE_CREATE(OUTPUT) for it on `streamId`: guest pages as they are, an object as one plane
// at data_offset 0 (the layout comes from GET_PARAMS_EXT). Sets buffer.size. On failure what was
// allocated stays in `buffer`, for releaseOutputBuffer.
Status createOutputBuffer(VideoDriver& driver, uint32_t streamId, OutputMemory memory,
                          uint64_t size, OutputBuffer& buffer);

// Returns the pages and the object of `buffer` to the guest RAM / the exporter. Sends nothing.
void releaseOutputBuffer(VideoDriver& driver, const OutputBuffer& buffer);

// The first `size` bytes of `buffer` (of an object: at most its length), as the guest reads
// them: in place for an object or a single run, else gathered into `scratch` (resized to
// `size`). `size` must not exceed the allocation. Valid until `scratch` or the buffer changes.
std::span<const std::byte> outputBytes(VideoDriver& driver, const OutputBuffer& buffer,
                                       uint64_t size, std::vector<std::byte>& scratch);

}  // namespace vdec::harness
