// SPDX-License-Identifier: MIT
// ResourceMemory: the bytes behind one virtio-video resource (guest pages or a shared object).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "vdec/base/result.h"

namespace vdec::buffers {

// Every access is bounds-checked against size(). Implementations are safe to use from one thread
// at a time; the device hands a resource to at most one user (decoder or command thread) at once.
class ResourceMemory {
 public:
  virtual ~ResourceMemory() = default;

  virtual uint64_t size() const = 0;
  // Copies data into [offset, offset + data.size()); fails without writing if out of range.
  virtual Status write(uint64_t offset, std::span<const std::byte> data) = 0;
  // Copies [offset, offset + out.size()) into out; fails without reading if out of range.
  virtual Status read(uint64_t offset, std::span<std::byte> out) const = 0;
  // The whole resource as one host mapping, or an empty span when it is scattered.
  virtual std::span<std::byte> contiguous() = 0;
  // Short description for logs ("guest pages, 3 segments").
  virtual const char* kind() const = 0;
  // Bracket a burst of CPU access (DMA_BUF_IOCTL_SYNC for dma-bufs; nothing for guest pages).
  virtual void beginCpuAccess() {}
  virtual void endCpuAccess() {}
};

}  // namespace vdec::buffers
