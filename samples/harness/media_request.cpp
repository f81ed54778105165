// SPDX-License-Identifier: MIT
// Encoders for the virtio-media requests the guest driver sends.
#include "samples/harness/media_request.h"

#include <algorithm>
#include <cstring>

#include "vdec/base/wire.h"
#include "vdec/protocol/v4l2.h"

namespace vdec::harness {
namespace {

std::vector<std::byte> ioctlHeader(uint32_t sessionId, uint32_t code) {
  return toBytes(wire::virtio_media_cmd_ioctl{{wire::VIRTIO_MEDIA_CMD_IOCTL, 0}, sessionId, code});
}

template <typename T>
void appendAll(std::vector<std::byte>& out, std::span<const T> values) {
  for (const T& value : values) appendWire(out, value);
}

}  // namespace

MediaChain fixedIoctlChain(uint32_t sessionId, uint32_t code, std::span<const std::byte> payload,
                           bool writesBack) {
  MediaChain chain;
  chain.readable.push_back(ioctlHeader(sessionId, code));
  chain.readable.emplace_back(payload.begin(), payload.end());
  chain.writable.push_back(sizeof(wire::virtio_media_resp_ioctl));
  if (writesBack) chain.writable.push_back(payload.size());
  return chain;
}

std::vector<wire::virtio_media_sg_entry> sgEntries(std::span<const buffers::GuestRange> pages,
                                                   uint64_t length) {
  std::vector<wire::virtio_media_sg_entry> entries;
  uint64_t covered = 0;
  for (const auto& range : pages) {
    if (covered >= length) break;
    const uint64_t used = std::min(range.length, length - covered);
    entries.push_back({range.address.value, static_cast<uint32_t>(used), 0});
    covered += used;
  }
  return entries;
}

MediaChain bufferIoctlChain(uint32_t sessionId, uint32_t code, const MediaBufferRequest& request) {
  const wire::v4l2_buffer& b = request.buffer;
  const bool multiplanar = v4l2::isMultiplanar(b.type);
  MediaChain chain;
  chain.readable.push_back(ioctlHeader(sessionId, code));
  chain.readable.push_back(toBytes(b));
  std::vector<std::byte> planes;
  if (multiplanar) appendAll<wire::v4l2_plane>(planes, request.planes);
  chain.readable.push_back(planes);

  std::vector<std::byte> pointers;
  if (b.memory == wire::VIRTIO_MEDIA_SHARED_PAGES) {
    for (size_t i = 0; i < request.sharedPages.size(); ++i) {
      const uint64_t length =
          multiplanar ? (i < request.planes.size() ? request.planes[i].length : 0) : b.length;
      appendAll<wire::virtio_media_sg_entry>(pointers, sgEntries(request.sharedPages[i], length));
    }
  }
  std::vector<std::byte> uuids;
  if (b.memory == wire::VIRTIO_MEDIA_OBJECT) {
    for (const MediaUuid& uuid : request.objects) appendWire(uuids, uuid);
  }
  chain.readable.push_back(pointers);
  chain.readable.push_back(uuids);

  chain.writable = {sizeof(wire::virtio_media_resp_ioctl), sizeof(wire::v4l2_buffer),
                    planes.size(), uuids.size()};
  return chain;
}

Result<MediaIoctlReply> parseIoctlReply(const MediaResponse& response) {
  VDEC_ASSIGN_OR_RETURN(auto header, readWire<wire::virtio_media_resp_ioctl>(response.bytes));
  MediaIoctlReply reply;
  reply.status = header.hdr.status;
  reply.payload.assign(response.bytes.begin() + sizeof(header), response.bytes.end());
  return reply;
}

}  // namespace vdec::harness
