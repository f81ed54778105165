// SPDX-License-Identifier: MIT
// StreamContext: what a Stream may use of the device that owns it, and nothing more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "buffers/guest_memory.h"
#include "buffers/object_resolver.h"
#include "codecs/decoder_backend.h"
#include "vdec/base/memory_budget.h"
#include "vdec/base/slot_counter.h"
#include "vdec/device_config.h"

namespace vdec {

// Statistics, summed over all streams since the device started.
struct DeviceStatistics {
  uint64_t frames = 0;
  uint64_t bytesCopied = 0;
  uint64_t errorResponses = 0;
};

// Made by VideoDevice, which outlives every Stream; the references point into the device, so a
// Stream always sees the current guest memory table and resolver. Device thread only, except
// wakeDevice, which any thread may call.
struct StreamContext {
  const DeviceConfig& config;
  codecs::DecoderBackend& backend;
  const std::shared_ptr<const buffers::GuestMemory>& memory;  // null before SET_MEM_TABLE
  buffers::ObjectResolver* const& resolver;                   // null without SHARED_OBJECT
  DeviceStatistics& statistics;
  // Streams that hold a decoder session (config.maxDecodingStreams places).
  SlotCounter& decoderSlots;
  // The daemon's budget (DeviceConfig::maxMemory); each stream's budget is a share of it.
  const std::shared_ptr<MemoryBudget>& memoryBudget;
  // Answers the command that carried `tag`.
  std::function<void(uint64_t tag, std::vector<std::byte> response)> complete;
  // Queues a VIRTIO_VIDEO_EVENT_* for a stream.
  std::function<void(uint32_t type, uint32_t streamId)> queueEvent;
  // Wakes the device thread (its notify eventfd) so that it calls processBackendEvents().
  std::function<void()> wakeDevice;
  // Decoder threads for all streams together (--thread-budget): each session leases its share.
  std::shared_ptr<codecs::ThreadBudget> threadBudget;
};

}  // namespace vdec
