// SPDX-License-Identifier: MIT
// Command: a virtio-video request parsed once into a typed value. Everything after parsing works
// on these copies, never on guest memory.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "buffers/guest_pages.h"
#include "buffers/object_resolver.h"
#include "vdec/base/result.h"
#include "vdec/protocol/virtio_video.h"

namespace vdec {

enum class QueueType { kInput, kOutput };
enum class MemoryType { kGuestPages, kVirtioObject };

struct QueryCapabilityCmd { QueueType queue; };
struct StreamCreateCmd {
  MemoryType inputMemory;
  MemoryType outputMemory;
  uint32_t codedFormat;  // VIRTIO_VIDEO_FORMAT_*, validated by the device against its codecs
  std::string tag;
};
struct StreamDestroyCmd {};
struct StreamDrainCmd {};
struct ResourceCreateCmd {
  QueueType queue;
  uint32_t resourceId;
  uint32_t numPlanes;
  std::array<uint32_t, wire::VIRTIO_VIDEO_MAX_PLANES> planeOffsets;
  uint32_t totalEntries;  // sum of num_entries over the planes
  // The 16-byte entries after the fixed part, decoded both ways because only the stream knows
  // the queue's memory type: every entry as a virtio_video_mem_entry (guest pages), and the
  // first one as a virtio_video_object_entry's UUID (virtio objects). At least one entry.
  std::vector<buffers::GuestRange> guestRanges;
  buffers::Uuid objectUuid{};
};
struct ResourceQueueCmd {
  QueueType queue;
  uint32_t resourceId;
  uint64_t timestamp;
  uint32_t numDataSizes;
  std::array<uint32_t, wire::VIRTIO_VIDEO_MAX_PLANES> dataSizes;
};
struct ResourceDestroyAllCmd { QueueType queue; };
struct QueueClearCmd { QueueType queue; };
struct GetParamsCmd { QueueType queue; bool extended; };
struct SetParamsCmd {
  QueueType queue;
  bool extended;
  wire::virtio_video_params params;  // raw guest values: the stream sanitizes each field
  uint32_t resourceType;             // _EXT only
};
struct QueryControlCmd { uint32_t control; uint32_t format; };
struct GetControlCmd { uint32_t control; };
struct SetControlCmd { uint32_t control; uint32_t value; };

using CommandBody =
    std::variant<QueryCapabilityCmd, StreamCreateCmd, StreamDestroyCmd, StreamDrainCmd,
                 ResourceCreateCmd, ResourceQueueCmd, ResourceDestroyAllCmd, QueueClearCmd,
                 GetParamsCmd, SetParamsCmd, QueryControlCmd, GetControlCmd, SetControlCmd>;

struct Command {
  uint32_t type = 0;  // VIRTIO_VIDEO_CMD_*
  uint32_t streamId = 0;
  CommandBody body;
};

struct CommandLimits {
  uint32_t maxEntriesPerResource = 16384;
};

// Parses a request (a copy the caller owns). Errors: kInvalidOperation for an unknown command
// type, kInvalidParameter for a wrong size or out-of-range field. The header, when readable,
// is returned through `header` so that even a failed parse can be answered with its stream id.
Result<Command> parseCommand(std::span<const std::byte> request, const CommandLimits& limits,
                             wire::virtio_video_cmd_hdr* header = nullptr);

const char* commandName(uint32_t type);
uint32_t queueTypeValue(QueueType queue);

}  // namespace vdec
