// SPDX-License-Identifier: MIT
// VideoDriver, the typed commands: each builds the request the ChromeOS virtio-video guest
// driver builds (guest-driver.md) and runs it through Impl::command().
#include <algorithm>
#include <cstring>

#include "samples/harness/video_driver.h"
#include "samples/harness/video_driver_impl.h"
#include "vdec/base/wire.h"

namespace vdec::harness {
namespace {

using buffers::GuestRange;

constexpr char kStreamTag[] = "vdec-harness";

// Response buffer sizes of the guest driver (guest-driver.md §1).
constexpr size_t kRespDefault = 8;
constexpr size_t kRespGetParamsExt = sizeof(wire::virtio_video_get_params_ext_resp);   // 128
constexpr size_t kRespResourceQueue = sizeof(wire::virtio_video_resource_queue_resp);  // 24
constexpr size_t kRespGetControl = sizeof(wire::virtio_video_get_control_resp);        // 16

template <typename T>
std::span<const std::byte> asBytes(const T& value) {
  return std::as_bytes(std::span(&value, 1));
}

wire::virtio_video_queue_cmd queueCommand(uint32_t type, uint32_t streamId, uint32_t queueType) {
  wire::virtio_video_queue_cmd cmd{};
  cmd.hdr = {type, streamId};
  cmd.queue_type = queueType;
  return cmd;
}

}  // namespace

Result<std::vector<std::byte>> VideoDriver::rawCommand(std::span<const std::byte> request,
                                                       std::span<const std::byte> extra,
                                                       size_t responseCapacity) {
  if (request.empty() || responseCapacity == 0) {
    return makeError(ErrorCode::kInvalidParameter, "raw command needs a request and a response");
  }
  Impl::Pending meta;
  if (auto header = readWire<wire::virtio_video_cmd_hdr>(request)) {
    meta.type = header->type;
    meta.streamId = header->stream_id;
  }
  VDEC_ASSIGN_OR_RETURN(auto result,
                        impl_->execute(std::move(meta), request, extra, responseCapacity));
  result.response.resize(std::min<size_t>(result.usedLen, responseCapacity));
  return std::move(result.response);
}

Result<std::vector<std::byte>> VideoDriver::queryCapability(uint32_t queueType) {
  auto cmd = queueCommand(wire::VIRTIO_VIDEO_CMD_QUERY_CAPABILITY, 0, queueType);
  Impl::Pending meta{.type = cmd.hdr.type, .queueType = queueType};
  VDEC_ASSIGN_OR_RETURN(
      auto result, impl_->command(std::move(meta), asBytes(cmd), {}, impl_->config.max_caps_length,
                                  wire::VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY));
  // The guest parses the whole buffer; a used length that covers at least the header says how
  // much the device meant, and a shorter one is ignored as the guest ignores it.
  if (result.usedLen >= sizeof(wire::virtio_video_query_capability_resp) &&
      result.usedLen < result.response.size()) {
    result.response.resize(result.usedLen);
  }
  return std::move(result.response);
}

Status VideoDriver::streamCreate(uint32_t streamId, uint32_t codedFormat) {
  wire::virtio_video_stream_create cmd{};
  cmd.hdr = {wire::VIRTIO_VIDEO_CMD_STREAM_CREATE, streamId};
  // The guest hard-codes VIRTIO_OBJECT here; the real type comes with SET_PARAMS_EXT.
  cmd.in_mem_type = wire::VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
  cmd.out_mem_type = wire::VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
  cmd.coded_format = codedFormat;
  std::memcpy(cmd.tag, kStreamTag, sizeof(kStreamTag));
  Impl::Pending meta{.type = cmd.hdr.type, .streamId = streamId};
  VDEC_TRY(impl_->command(std::move(meta), asBytes(cmd), {}, kRespDefault,
                          wire::VIRTIO_VIDEO_RESP_OK_NODATA));
  return okStatus();
}

Status VideoDriver::streamDestroy(uint32_t streamId) {
  const wire::virtio_video_cmd_hdr cmd{wire::VIRTIO_VIDEO_CMD_STREAM_DESTROY, streamId};
  Impl::Pending meta{.type = cmd.type, .streamId = streamId};
  VDEC_TRY(impl_->command(std::move(meta), asBytes(cmd), {}, kRespDefault,
                          wire::VIRTIO_VIDEO_RESP_OK_NODATA));
  return okStatus();
}

Result<wire::virtio_video_params_ext> VideoDriver::getParams(uint32_t streamId,
                                                             uint32_t queueType) {
  auto cmd = queueCommand(wire::VIRTIO_VIDEO_CMD_GET_PARAMS_EXT, streamId, queueType);
  Impl::Pending meta{.type = cmd.hdr.type, .streamId = streamId, .queueType = queueType};
  VDEC_ASSIGN_OR_RETURN(auto response,
                        impl_->command(std::move(meta), asBytes(cmd), {}, kRespGetParamsExt,
                                       wire::VIRTIO_VIDEO_RESP_OK_GET_PARAMS));
  VDEC_ASSIGN_OR_RETURN(auto resp,
                        readWire<wire::virtio_video_get_params_ext_resp>(response.response));
  return resp.params;
}

Status VideoDriver::setParams(uint32_t streamId, const wire::virtio_video_params_ext& params) {
  wire::virtio_video_set_params_ext cmd{};
  cmd.hdr = {wire::VIRTIO_VIDEO_CMD_SET_PARAMS_EXT, streamId};
  cmd.params = params;
  Impl::Pending meta{
      .type = cmd.hdr.type, .streamId = streamId, .queueType = params.base.queue_type};
  VDEC_TRY(impl_->command(std::move(meta), asBytes(cmd), {}, kRespDefault,
                          wire::VIRTIO_VIDEO_RESP_OK_NODATA));
  return okStatus();
}

Result<uint32_t> VideoDriver::getControl(uint32_t streamId, uint32_t control) {
  wire::virtio_video_get_control cmd{};
  cmd.hdr = {wire::VIRTIO_VIDEO_CMD_GET_CONTROL, streamId};
  cmd.control = control;
  Impl::Pending meta{.type = cmd.hdr.type, .streamId = streamId};
  VDEC_ASSIGN_OR_RETURN(auto response,
                        impl_->command(std::move(meta), asBytes(cmd), {}, kRespGetControl,
                                       wire::VIRTIO_VIDEO_RESP_OK_GET_CONTROL));
  VDEC_ASSIGN_OR_RETURN(auto resp,
                        readWire<wire::virtio_video_get_control_resp>(response.response));
  return resp.value;
}

Status VideoDriver::resourceCreateGuestPages(uint32_t streamId, uint32_t queueType,
                                             uint32_t resourceId,
                                             const std::vector<GuestRange>& entries) {
  if (entries.empty()) {
    return makeError(ErrorCode::kInvalidParameter, "RESOURCE_CREATE without entries");
  }
  wire::virtio_video_resource_create cmd{};
  cmd.hdr = {wire::VIRTIO_VIDEO_CMD_RESOURCE_CREATE, streamId};
  cmd.queue_type = queueType;
  cmd.resource_id = resourceId;
  cmd.planes_layout = wire::VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
  cmd.num_planes = 1;  // the guest never writes plane_offsets for guest pages
  cmd.num_entries[0] = static_cast<uint32_t>(entries.size());
  std::vector<std::byte> extra;
  for (const auto& entry : entries) {
    if (entry.length > UINT32_MAX) {
      return makeError(ErrorCode::kInvalidParameter, "mem entry of {} bytes", entry.length);
    }
    wire::virtio_video_mem_entry mem{};
    mem.addr = entry.address.value;
    mem.length = static_cast<uint32_t>(entry.length);
    appendWire(extra, mem);
  }
  Impl::Pending meta{
      .type = cmd.hdr.type, .streamId = streamId, .queueType = queueType, .resourceId = resourceId};
  VDEC_TRY(impl_->command(std::move(meta), asBytes(cmd), extra, kRespDefault,
                          wire::VIRTIO_VIDEO_RESP_OK_NODATA));
  return okStatus();
}

Status VideoDriver::resourceCreateObject(uint32_t streamId, uint32_t queueType, uint32_t resourceId,
                                         const std::array<uint8_t, 16>& uuid,
                                         const std::vector<uint32_t>& planeOffsets) {
  if (planeOffsets.empty() || planeOffsets.size() > wire::VIRTIO_VIDEO_MAX_PLANES) {
    return makeError(ErrorCode::kInvalidParameter, "RESOURCE_CREATE with {} planes",
                     planeOffsets.size());
  }
  wire::virtio_video_resource_create cmd{};
  cmd.hdr = {wire::VIRTIO_VIDEO_CMD_RESOURCE_CREATE, streamId};
  cmd.queue_type = queueType;
  cmd.resource_id = resourceId;
  cmd.planes_layout = wire::VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
  cmd.num_planes = static_cast<uint32_t>(planeOffsets.size());
  for (size_t p = 0; p < planeOffsets.size(); ++p) {
    cmd.plane_offsets[p] = planeOffsets[p];
    cmd.num_entries[p] = 1;
  }
  // Exactly one object entry whatever num_planes says, as the ChromeOS guest sends it.
  wire::virtio_video_object_entry object{};
  std::memcpy(object.uuid, uuid.data(), uuid.size());
  Impl::Pending meta{
      .type = cmd.hdr.type, .streamId = streamId, .queueType = queueType, .resourceId = resourceId};
  VDEC_TRY(impl_->command(std::move(meta), asBytes(cmd), asBytes(object), kRespDefault,
                          wire::VIRTIO_VIDEO_RESP_OK_NODATA));
  return okStatus();
}

Status VideoDriver::resourceDestroyAll(uint32_t streamId, uint32_t queueType) {
  auto cmd = queueCommand(wire::VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL, streamId, queueType);
  Impl::Pending meta{.type = cmd.hdr.type, .streamId = streamId, .queueType = queueType};
  VDEC_TRY(impl_->command(std::move(meta), asBytes(cmd), {}, kRespDefault,
                          wire::VIRTIO_VIDEO_RESP_OK_NODATA));
  return okStatus();
}

Status VideoDriver::queueClear(uint32_t streamId, uint32_t queueType) {
  auto cmd = queueCommand(wire::VIRTIO_VIDEO_CMD_QUEUE_CLEAR, streamId, queueType);
  Impl::Pending meta{.type = cmd.hdr.type, .streamId = streamId, .queueType = queueType};
  VDEC_TRY(impl_->command(std::move(meta), asBytes(cmd), {}, kRespDefault,
                          wire::VIRTIO_VIDEO_RESP_OK_NODATA));
  return okStatus();
}

Status VideoDriver::resourceQueue(uint32_t streamId, uint32_t queueType, uint32_t resourceId,
                                  uint64_t timestamp, uint32_t dataSize) {
  wire::virtio_video_resource_queue cmd{};
  cmd.hdr = {wire::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, streamId};
  cmd.queue_type = queueType;
  cmd.resource_id = resourceId;
  cmd.timestamp = timestamp;
  cmd.num_data_sizes = 1;
  cmd.data_sizes[0] = dataSize;
  Impl::Pending meta{.type = cmd.hdr.type,
                     .streamId = streamId,
                     .queueType = queueType,
                     .resourceId = resourceId,
                     .async = true};
  VDEC_TRY(impl_->submit(std::move(meta), asBytes(cmd), {}, kRespResourceQueue));
  return okStatus();
}

Status VideoDriver::streamDrain(uint32_t streamId) {
  const wire::virtio_video_cmd_hdr cmd{wire::VIRTIO_VIDEO_CMD_STREAM_DRAIN, streamId};
  Impl::Pending meta{.type = cmd.type, .streamId = streamId, .async = true};
  VDEC_TRY(impl_->submit(std::move(meta), asBytes(cmd), {}, kRespDefault));
  return okStatus();
}

}  // namespace vdec::harness
