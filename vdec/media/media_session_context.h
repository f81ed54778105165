// SPDX-License-Identifier: MIT
// MediaSessionContext: what a MediaSession may use of the MediaDevice that owns it.
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
#include "vdec/stream_context.h"

namespace vdec::media {

// Made by MediaDevice, which outlives every session; the references point into the device, so
// a session always sees the current guest memory table and resolver. Device thread only,
// except wakeDevice, which any thread may call.
struct MediaSessionContext {
  const DeviceConfig& config;
  codecs::DecoderBackend& backend;
  const std::shared_ptr<const buffers::GuestMemory>& memory;  // null before SET_MEM_TABLE
  buffers::ObjectResolver* const& resolver;                   // null without SHARED_OBJECT
  DeviceStatistics& statistics;
  SlotCounter& decoderSlots;  // sessions that hold a decoder (config.maxDecodingStreams)
  const std::shared_ptr<MemoryBudget>& memoryBudget;
  // Answers a command the session deferred (an ioctl that waits for the decoder).
  std::function<void(uint64_t tag, std::vector<std::byte> response)> complete;
  // Queues an encoded eventq event (virtio_media_event_*); the device never drops one.
  std::function<void(std::vector<std::byte> event)> queueEvent;
  // Wakes the device thread so that it calls processBackendEvents().
  std::function<void()> wakeDevice;
  std::shared_ptr<codecs::ThreadBudget> threadBudget;
};

}  // namespace vdec::media
