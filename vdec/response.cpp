// SPDX-License-Identifier: MIT
#include "vdec/response.h"

#include "vdec/base/wire.h"
#include "vdec/protocol/virtio_video.h"

namespace vdec {
namespace w = wire;

uint32_t responseTypeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOutOfMemory: return w::VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY;
    case ErrorCode::kInvalidStreamId: return w::VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID;
    case ErrorCode::kInvalidResourceId: return w::VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID;
    case ErrorCode::kInvalidParameter: return w::VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
    case ErrorCode::kUnsupported: return w::VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL;
    case ErrorCode::kInvalidOperation:
    case ErrorCode::kBackendFailure: return w::VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION;
  }
  return w::VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION;
}

std::vector<std::byte> errorResponse(ErrorCode code, uint32_t streamId) {
  return toBytes(w::virtio_video_cmd_hdr{responseTypeFor(code), streamId});
}

std::vector<std::byte> errorResponseFor(uint32_t commandType, ErrorCode code, uint32_t streamId,
                                        uint32_t requestedQueue) {
  std::vector<std::byte> response = errorResponse(code, streamId);
  const bool knownQueue = requestedQueue == w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT ||
                          requestedQueue == w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
  switch (commandType) {
    case w::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE: {
      w::virtio_video_resource_queue_resp resp{};
      resp.hdr = {responseTypeFor(code), streamId};
      resp.flags = w::VIRTIO_VIDEO_BUFFER_FLAG_ERR;
      return toBytes(resp);
    }
    case w::VIRTIO_VIDEO_CMD_GET_PARAMS: {
      w::virtio_video_get_params_resp resp{};
      resp.hdr = {responseTypeFor(code), streamId};
      if (knownQueue) resp.params.queue_type = requestedQueue;
      return toBytes(resp);
    }
    case w::VIRTIO_VIDEO_CMD_GET_PARAMS_EXT: {
      w::virtio_video_get_params_ext_resp resp{};
      resp.hdr = {responseTypeFor(code), streamId};
      if (knownQueue) resp.params.base.queue_type = requestedQueue;
      return toBytes(resp);
    }
    case w::VIRTIO_VIDEO_CMD_GET_CONTROL:
      response.resize(sizeof(w::virtio_video_get_control_resp));
      break;
    default:
      break;
  }
  return response;
}

std::vector<std::byte> okNoDataResponse(uint32_t streamId) {
  return toBytes(w::virtio_video_cmd_hdr{w::VIRTIO_VIDEO_RESP_OK_NODATA, streamId});
}

std::vector<std::byte> resourceQueueResponse(uint32_t streamId, uint64_t timestamp, uint32_t flags,
                                             uint32_t size) {
  w::virtio_video_resource_queue_resp resp{};
  resp.hdr = {w::VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE, streamId};
  resp.timestamp = timestamp;
  resp.flags = flags;
  resp.size = size;
  return toBytes(resp);
}

}  // namespace vdec
