// SPDX-License-Identifier: MIT
// VirtioDevice: what the vhost-user server needs to know about the device it serves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "buffers/guest_memory.h"
#include "buffers/object_resolver.h"

namespace vdec::virtio {

class Virtqueue;

// The device's queues, by index; nullptr for a queue that is stopped or disabled. Valid only
// during the callback that received it (the server may rebuild queues between callbacks).
using QueueTable = std::span<Virtqueue* const>;

// Implemented by a concrete device; the transport knows nothing else about it (as crosvm's
// VhostUserDevice trait). Thread: every method is called from the server's loop thread.
// While all rings are stopped the server makes no queue callbacks (device suspended).
class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  // Device-specific virtio feature bits; the server adds the transport bits.
  virtual uint64_t features() const = 0;
  // The whole config space; GET_CONFIG serves any range inside it.
  virtual std::vector<std::byte> configSpace() const = 0;
  virtual uint32_t numQueues() const = 0;
  virtual uint16_t maxQueueSize() const = 0;

  // A new memory table (SET_MEM_TABLE), or nullptr when the front-end is gone.
  virtual void setGuestMemory(std::shared_ptr<const buffers::GuestMemory> memory) = 0;
  // Borrowed; nullptr when not negotiated or when the front-end is gone. The resolver stays
  // valid until the next call.
  virtual void setObjectResolver(buffers::ObjectResolver* resolver) = 0;

  // The front-end kicked queue `index` (queues[index] is non-null).
  virtual void onQueueKick(uint32_t index, QueueTable queues) = 0;
  // An fd the server polls for the device (-1: none); when readable, onNotify() runs.
  virtual int notifyFd() const { return -1; }
  virtual void onNotify(QueueTable queues) {}

  // Drops all state: the front-end disconnected, or sent RESET_DEVICE / RESET_OWNER.
  virtual void reset() = 0;
};

}  // namespace vdec::virtio
