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
//
// Shared memory can be shrunk by its owner (a truncated memfd): a plain access then raises
// SIGBUS. Implementations over such memory report sigbusSafe() == false; their read()/write()
// turn the fault into an error (buffers/sigbus_guard.h) and contiguous() hands out no mapping,
// so nothing (a decoder rendering in place) can touch it unguarded.
class ResourceMemory {
 public:
  virtual ~ResourceMemory() = default;

  virtual uint64_t size() const = 0;
  // Copies data into [offset, offset + data.size()); fails without writing if out of range, and
  // with kInvalidParameter (part written) if the memory faulted.
  virtual Status write(uint64_t offset, std::span<const std::byte> data) = 0;
  // Copies [offset, offset + out.size()) into out; fails without reading if out of range, and
  // with kInvalidParameter (part read) if the memory faulted.
  virtual Status read(uint64_t offset, std::span<std::byte> out) const = 0;
  // The whole resource as one host mapping that plain CPU code may use, or an empty span when
  // it is scattered (and no window could be built) or not sigbusSafe().
  virtual std::span<std::byte> contiguous() = 0;
  // No access can fault: the memory cannot shrink (host memory; a memfd sealed with
  // F_SEAL_SHRINK). See the class comment.
  virtual bool sigbusSafe() const { return true; }
  // Short description for logs ("guest pages, 3 segments").
  virtual const char* kind() const = 0;
  // Bracket a burst of CPU access (DMA_BUF_IOCTL_SYNC for dma-bufs; nothing for guest pages).
  virtual void beginCpuAccess() {}
  virtual void endCpuAccess() {}
};

}  // namespace vdec::buffers
