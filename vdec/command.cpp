// SPDX-License-Identifier: MIT
#include "vdec/command.h"

#include <cstring>

#include "vdec/base/wire.h"

namespace vdec {
namespace w = wire;
namespace {

using Bytes = std::span<const std::byte>;

Status expectSize(Bytes request, size_t size, uint32_t type) {
  if (request.size() != size) {
    return makeError(ErrorCode::kInvalidParameter, "{}: {} bytes, expected {}", commandName(type),
                     request.size(), size);
  }
  return okStatus();
}

Result<QueueType> parseQueue(uint32_t value) {
  if (value == w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT) return QueueType::kInput;
  if (value == w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT) return QueueType::kOutput;
  return makeError(ErrorCode::kInvalidParameter, "queue type {:#x} out of range", value);
}

Result<MemoryType> parseMemoryType(uint32_t value) {
  if (value == w::VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES) return MemoryType::kGuestPages;
  if (value == w::VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT) return MemoryType::kVirtioObject;
  return makeError(ErrorCode::kInvalidParameter, "memory type {} out of range", value);
}

// Commands whose body is {queue_type, padding}.
Result<QueueType> parseQueueCommand(Bytes request, uint32_t type) {
  VDEC_TRY(expectSize(request, sizeof(w::virtio_video_queue_cmd), type));
  VDEC_ASSIGN_OR_RETURN(auto cmd, readWire<w::virtio_video_queue_cmd>(request));
  return parseQueue(cmd.queue_type);
}

Result<CommandBody> parseStreamCreate(Bytes request) {
  VDEC_TRY(expectSize(request, sizeof(w::virtio_video_stream_create),
                      w::VIRTIO_VIDEO_CMD_STREAM_CREATE));
  VDEC_ASSIGN_OR_RETURN(auto cmd, readWire<w::virtio_video_stream_create>(request));
  VDEC_ASSIGN_OR_RETURN(auto in, parseMemoryType(cmd.in_mem_type));
  VDEC_ASSIGN_OR_RETURN(auto out, parseMemoryType(cmd.out_mem_type));
  size_t tagLength = strnlen(reinterpret_cast<const char*>(cmd.tag), sizeof(cmd.tag));
  std::string tag(reinterpret_cast<const char*>(cmd.tag), tagLength);
  return StreamCreateCmd{in, out, cmd.coded_format, std::move(tag)};
}

Result<CommandBody> parseResourceCreate(Bytes request, const CommandLimits& limits) {
  constexpr size_t kFixed = sizeof(w::virtio_video_resource_create);
  VDEC_ASSIGN_OR_RETURN(auto cmd, readWire<w::virtio_video_resource_create>(request));
  VDEC_ASSIGN_OR_RETURN(auto queue, parseQueue(cmd.queue_type));
  if (cmd.num_planes == 0 || cmd.num_planes > w::VIRTIO_VIDEO_MAX_PLANES) {
    return makeError(ErrorCode::kInvalidParameter, "num_planes {} out of range", cmd.num_planes);
  }
  if (cmd.planes_layout != w::VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER &&
      cmd.planes_layout != w::VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE) {
    return makeError(ErrorCode::kInvalidParameter, "planes_layout {} out of range",
                     cmd.planes_layout);
  }
  uint64_t totalEntries = 0;
  for (uint32_t p = 0; p < cmd.num_planes; ++p) totalEntries += cmd.num_entries[p];
  if (totalEntries > limits.maxEntriesPerResource) {
    return makeError(ErrorCode::kInvalidParameter, "{} entries exceed the limit of {}",
                     totalEntries, limits.maxEntriesPerResource);
  }
  size_t trailing = request.size() - kFixed;
  if (trailing == 0 || trailing % 16 != 0) {
    return makeError(ErrorCode::kInvalidParameter, "{} bytes of entries (not a multiple of 16)",
                     trailing);
  }
  if (trailing / 16 > limits.maxEntriesPerResource) {
    return makeError(ErrorCode::kInvalidParameter, "{} entries exceed the limit of {}",
                     trailing / 16, limits.maxEntriesPerResource);
  }
  ResourceCreateCmd out{queue, cmd.resource_id, cmd.num_planes, {}, static_cast<uint32_t>(totalEntries), {}};
  std::memcpy(out.planeOffsets.data(), cmd.plane_offsets, sizeof(cmd.plane_offsets));
  out.guestRanges.reserve(trailing / 16);
  for (size_t offset = kFixed; offset < request.size(); offset += 16) {
    VDEC_ASSIGN_OR_RETURN(auto entry, readWire<w::virtio_video_mem_entry>(request, offset));
    out.guestRanges.push_back({buffers::GuestAddress{entry.addr}, entry.length});
  }
  static_assert(sizeof(w::virtio_video_mem_entry) == 16);
  std::memcpy(out.objectUuid.data(), request.data() + kFixed, out.objectUuid.size());
  return out;
}

Result<CommandBody> parseResourceQueue(Bytes request) {
  VDEC_TRY(expectSize(request, sizeof(w::virtio_video_resource_queue),
                      w::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE));
  VDEC_ASSIGN_OR_RETURN(auto cmd, readWire<w::virtio_video_resource_queue>(request));
  VDEC_ASSIGN_OR_RETURN(auto queue, parseQueue(cmd.queue_type));
  if (cmd.num_data_sizes > w::VIRTIO_VIDEO_MAX_PLANES) {
    return makeError(ErrorCode::kInvalidParameter, "num_data_sizes {} out of range",
                     cmd.num_data_sizes);
  }
  ResourceQueueCmd out{queue, cmd.resource_id, cmd.timestamp, cmd.num_data_sizes, {}};
  std::memcpy(out.dataSizes.data(), cmd.data_sizes, sizeof(cmd.data_sizes));
  return out;
}

Result<CommandBody> parseSetParams(Bytes request, bool extended) {
  uint32_t type = extended ? w::VIRTIO_VIDEO_CMD_SET_PARAMS_EXT : w::VIRTIO_VIDEO_CMD_SET_PARAMS;
  SetParamsCmd out{};
  out.extended = extended;
  if (extended) {
    VDEC_TRY(expectSize(request, sizeof(w::virtio_video_set_params_ext), type));
    VDEC_ASSIGN_OR_RETURN(auto cmd, readWire<w::virtio_video_set_params_ext>(request));
    out.params = cmd.params.base;
    out.resourceType = cmd.params.resource_type;
  } else {
    VDEC_TRY(expectSize(request, sizeof(w::virtio_video_set_params), type));
    VDEC_ASSIGN_OR_RETURN(auto cmd, readWire<w::virtio_video_set_params>(request));
    out.params = cmd.params;
  }
  VDEC_ASSIGN_OR_RETURN(out.queue, parseQueue(out.params.queue_type));
  return out;
}

Result<CommandBody> parseQueryControl(Bytes request) {
  constexpr size_t kBase = sizeof(w::virtio_video_query_control);
  constexpr size_t kWithFormat = kBase + sizeof(w::virtio_video_query_control_format);
  if (request.size() != kBase && request.size() != kWithFormat) {
    return makeError(ErrorCode::kInvalidParameter, "QUERY_CONTROL: {} bytes", request.size());
  }
  VDEC_ASSIGN_OR_RETURN(auto cmd, readWire<w::virtio_video_query_control>(request));
  uint32_t format = 0;
  if (request.size() == kWithFormat) {
    VDEC_ASSIGN_OR_RETURN(auto f, readWire<w::virtio_video_query_control_format>(request, kBase));
    format = f.format;
  }
  return QueryControlCmd{cmd.control, format};
}

}  // namespace

Result<Command> parseCommand(std::span<const std::byte> request, const CommandLimits& limits,
                             w::virtio_video_cmd_hdr* header) {
  VDEC_ASSIGN_OR_RETURN(auto hdr, readWire<w::virtio_video_cmd_hdr>(request));
  if (header != nullptr) *header = hdr;
  Command command{hdr.type, hdr.stream_id, StreamDestroyCmd{}};
  switch (hdr.type) {
    case w::VIRTIO_VIDEO_CMD_QUERY_CAPABILITY: {
      VDEC_ASSIGN_OR_RETURN(auto queue, parseQueueCommand(request, hdr.type));
      command.body = QueryCapabilityCmd{queue};
      break;
    }
    case w::VIRTIO_VIDEO_CMD_STREAM_CREATE: {
      VDEC_ASSIGN_OR_RETURN(command.body, parseStreamCreate(request));
      break;
    }
    case w::VIRTIO_VIDEO_CMD_STREAM_DESTROY:
      VDEC_TRY(expectSize(request, sizeof(w::virtio_video_cmd_hdr), hdr.type));
      command.body = StreamDestroyCmd{};
      break;
    case w::VIRTIO_VIDEO_CMD_STREAM_DRAIN:
      VDEC_TRY(expectSize(request, sizeof(w::virtio_video_cmd_hdr), hdr.type));
      command.body = StreamDrainCmd{};
      break;
    case w::VIRTIO_VIDEO_CMD_RESOURCE_CREATE: {
      VDEC_ASSIGN_OR_RETURN(command.body, parseResourceCreate(request, limits));
      break;
    }
    case w::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE: {
      VDEC_ASSIGN_OR_RETURN(command.body, parseResourceQueue(request));
      break;
    }
    case w::VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL: {
      VDEC_ASSIGN_OR_RETURN(auto queue, parseQueueCommand(request, hdr.type));
      command.body = ResourceDestroyAllCmd{queue};
      break;
    }
    case w::VIRTIO_VIDEO_CMD_QUEUE_CLEAR: {
      VDEC_ASSIGN_OR_RETURN(auto queue, parseQueueCommand(request, hdr.type));
      command.body = QueueClearCmd{queue};
      break;
    }
    case w::VIRTIO_VIDEO_CMD_GET_PARAMS:
    case w::VIRTIO_VIDEO_CMD_GET_PARAMS_EXT: {
      VDEC_ASSIGN_OR_RETURN(auto queue, parseQueueCommand(request, hdr.type));
      command.body = GetParamsCmd{queue, hdr.type == w::VIRTIO_VIDEO_CMD_GET_PARAMS_EXT};
      break;
    }
    case w::VIRTIO_VIDEO_CMD_SET_PARAMS:
    case w::VIRTIO_VIDEO_CMD_SET_PARAMS_EXT: {
      VDEC_ASSIGN_OR_RETURN(command.body,
                            parseSetParams(request, hdr.type == w::VIRTIO_VIDEO_CMD_SET_PARAMS_EXT));
      break;
    }
    case w::VIRTIO_VIDEO_CMD_QUERY_CONTROL: {
      VDEC_ASSIGN_OR_RETURN(command.body, parseQueryControl(request));
      break;
    }
    case w::VIRTIO_VIDEO_CMD_GET_CONTROL: {
      VDEC_TRY(expectSize(request, sizeof(w::virtio_video_get_control), hdr.type));
      VDEC_ASSIGN_OR_RETURN(auto cmd, readWire<w::virtio_video_get_control>(request));
      command.body = GetControlCmd{cmd.control};
      break;
    }
    case w::VIRTIO_VIDEO_CMD_SET_CONTROL: {
      VDEC_TRY(expectSize(request, sizeof(w::virtio_video_set_control), hdr.type));
      VDEC_ASSIGN_OR_RETURN(auto cmd, readWire<w::virtio_video_set_control>(request));
      command.body = SetControlCmd{cmd.control, cmd.value};
      break;
    }
    default:
      return makeError(ErrorCode::kInvalidOperation, "unknown command type {:#x}", hdr.type);
  }
  return command;
}

const char* commandName(uint32_t type) {
  switch (type) {
    case w::VIRTIO_VIDEO_CMD_QUERY_CAPABILITY: return "QUERY_CAPABILITY";
    case w::VIRTIO_VIDEO_CMD_STREAM_CREATE: return "STREAM_CREATE";
    case w::VIRTIO_VIDEO_CMD_STREAM_DESTROY: return "STREAM_DESTROY";
    case w::VIRTIO_VIDEO_CMD_STREAM_DRAIN: return "STREAM_DRAIN";
    case w::VIRTIO_VIDEO_CMD_RESOURCE_CREATE: return "RESOURCE_CREATE";
    case w::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE: return "RESOURCE_QUEUE";
    case w::VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL: return "RESOURCE_DESTROY_ALL";
    case w::VIRTIO_VIDEO_CMD_QUEUE_CLEAR: return "QUEUE_CLEAR";
    case w::VIRTIO_VIDEO_CMD_GET_PARAMS: return "GET_PARAMS";
    case w::VIRTIO_VIDEO_CMD_SET_PARAMS: return "SET_PARAMS";
    case w::VIRTIO_VIDEO_CMD_QUERY_CONTROL: return "QUERY_CONTROL";
    case w::VIRTIO_VIDEO_CMD_GET_CONTROL: return "GET_CONTROL";
    case w::VIRTIO_VIDEO_CMD_SET_CONTROL: return "SET_CONTROL";
    case w::VIRTIO_VIDEO_CMD_GET_PARAMS_EXT: return "GET_PARAMS_EXT";
    case w::VIRTIO_VIDEO_CMD_SET_PARAMS_EXT: return "SET_PARAMS_EXT";
    default: return "UNKNOWN";
  }
}

uint32_t queueTypeValue(QueueType queue) {
  return queue == QueueType::kInput ? w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT
                                    : w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
}

}  // namespace vdec
