// SPDX-License-Identifier: MIT
// Helpers shared by the guest-side stream clients; see stream_client.h.
#include "samples/harness/stream_client.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace vdec::harness {

std::string_view outputMemoryName(OutputMemory memory) {
  switch (memory) {
    case OutputMemory::kContiguous:
      return "contig";
    case OutputMemory::kScattered:
      return "sg";
    case OutputMemory::kObject:
      return "object";
  }
  return "?";
}

std::optional<OutputMemory> parseOutputMemory(std::string_view name) {
  if (name == "contig") return OutputMemory::kContiguous;
  if (name == "sg") return OutputMemory::kScattered;
  if (name == "object") return OutputMemory::kObject;
  return std::nullopt;
}

uint64_t pageAlign(uint64_t bytes) { return (bytes + kGuestPage - 1) / kGuestPage * kGuestPage; }

uint32_t virtioCodedFormat(codecs::CodedFormat codec) {
  switch (codec) {
    case codecs::CodedFormat::kH264:
      return wire::VIRTIO_VIDEO_FORMAT_H264;
    case codecs::CodedFormat::kHevc:
      return wire::VIRTIO_VIDEO_FORMAT_HEVC;
    case codecs::CodedFormat::kVp8:
      return wire::VIRTIO_VIDEO_FORMAT_VP8;
    case codecs::CodedFormat::kVp9:
      return wire::VIRTIO_VIDEO_FORMAT_VP9;
    case codecs::CodedFormat::kAv1:
      return 0;  // virtio-video has no AV1 format
  }
  return 0;
}

uint32_t virtioRawFormat(buffers::PixelFormat format) {
  switch (format) {
    case buffers::PixelFormat::kNv12:
      return wire::VIRTIO_VIDEO_FORMAT_NV12;
    case buffers::PixelFormat::kI420:
      return wire::VIRTIO_VIDEO_FORMAT_YUV420;
    case buffers::PixelFormat::kYv12:
      return wire::VIRTIO_VIDEO_FORMAT_YVU420;
  }
  return 0;
}

Status withContext(Status status, std::string_view what, uint32_t streamId) {
  if (status) return status;
  return makeError(status.error().code, "{} (stream {}): {}", what, streamId,
                   status.error().message);
}

Status destroyStream(VideoDriver& driver, uint32_t streamId, bool clearOutput, bool clearInput) {
  Status first = okStatus();
  auto note = [&](Status status, std::string_view what) {
    if (!status && first) first = withContext(std::move(status), what, streamId);
  };
  if (clearOutput)
    note(driver.queueClear(streamId, wire::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT), "QUEUE_CLEAR(OUTPUT)");
  if (clearInput)
    note(driver.queueClear(streamId, wire::VIRTIO_VIDEO_QUEUE_TYPE_INPUT), "QUEUE_CLEAR(INPUT)");
  note(driver.resourceDestroyAll(streamId, wire::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT),
       "RESOURCE_DESTROY_ALL(OUTPUT)");
  note(driver.resourceDestroyAll(streamId, wire::VIRTIO_VIDEO_QUEUE_TYPE_INPUT),
       "RESOURCE_DESTROY_ALL(INPUT)");
  note(driver.streamDestroy(streamId), "STREAM_DESTROY");
  for (int i = 0; i < 16; ++i) {
    auto flushed = driver.waitActivity(std::chrono::milliseconds(0));
    if (!flushed || flushed->empty()) break;
  }
  return first;
}

Status createOutputBuffer(VideoDriver& driver, uint32_t streamId, OutputMemory memory,
                          uint64_t size, OutputBuffer& buffer) {
  buffer.size = size;
  switch (memory) {
    case OutputMemory::kContiguous: {
      VDEC_ASSIGN_OR_RETURN(buffers::GuestRange range, driver.ram().allocContiguous(size));
      buffer.ranges.push_back(range);
      break;
    }
    case OutputMemory::kScattered: {
      VDEC_ASSIGN_OR_RETURN(buffer.ranges, driver.ram().allocScattered(size));
      break;
    }
    case OutputMemory::kObject: {
      VDEC_ASSIGN_OR_RETURN(buffer.object, driver.exporter().allocate(size));
      break;
    }
  }
  Status created =
      buffer.object
          // The guest sends one plane at data_offset 0; the layout comes from GET_PARAMS_EXT.
          ? driver.resourceCreateObject(streamId, wire::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, buffer.id,
                                        buffer.object->uuid, {0})
          : driver.resourceCreateGuestPages(streamId, wire::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                            buffer.id, buffer.ranges);
  return withContext(std::move(created), "RESOURCE_CREATE(OUTPUT)", streamId);
}

void releaseOutputBuffer(VideoDriver& driver, const OutputBuffer& buffer) {
  for (const buffers::GuestRange& range : buffer.ranges) driver.ram().free(range);
  if (buffer.object) driver.exporter().release(buffer.object->uuid);
}

std::span<const std::byte> outputBytes(VideoDriver& driver, const OutputBuffer& buffer,
                                       uint64_t size, std::vector<std::byte>& scratch) {
  if (buffer.object)
    return buffer.object->bytes.first(std::min<uint64_t>(size, buffer.object->bytes.size()));
  if (buffer.ranges.size() == 1) return driver.ram().at(buffer.ranges[0].address.value, size);
  scratch.resize(size);
  driver.ram().read(buffer.ranges, 0, scratch);
  return scratch;
}

}  // namespace vdec::harness
