// SPDX-License-Identifier: MIT
// MappedFdMemory: a resource backed by an mmapped dma-buf or memfd (a virtio object).
#pragma once

#include <memory>

#include "buffers/resource_memory.h"
#include "vdec/base/mapped_region.h"
#include "vdec/base/unique_fd.h"

namespace vdec::buffers {

// Maps the whole fd (size from lseek(SEEK_END)) and exposes [baseOffset, end) as the resource.
// CPU writes are bracketed with DMA_BUF_IOCTL_SYNC when the fd is a dma-buf; for other fds
// (memfds) the ioctl fails with ENOTTY and is skipped from then on.
//
// Shrinking (buffers/fd_seals.h): a memfd must be sealed with F_SEAL_SHRINK if it still can be
// (else create() fails); a dma-buf cannot shrink; any other fd (a file) is accepted but not
// sigbusSafe(): contiguous() is then empty. read()/write() are SIGBUS-guarded in every case.
class MappedFdMemory final : public ResourceMemory {
 public:
  // Takes ownership of fd. Fails on an empty fd, an offset past its end, a size over maxSize,
  // or a memfd that could be sealed against shrinking but is not.
  static Result<std::unique_ptr<MappedFdMemory>> create(UniqueFd fd, uint64_t baseOffset,
                                                        uint64_t maxSize);

  uint64_t size() const override { return size_; }
  Status write(uint64_t offset, std::span<const std::byte> data) override;
  Status read(uint64_t offset, std::span<std::byte> out) const override;
  std::span<std::byte> contiguous() override;
  bool sigbusSafe() const override { return sealed_; }
  const char* kind() const override { return isDmaBuf_ ? "dma-buf" : "memfd object"; }

  bool isDmaBuf() const { return isDmaBuf_; }
  // Brackets CPU access (DMA_BUF_SYNC_START/END with READ|WRITE); no-op for non-dma-bufs.
  void beginCpuAccess() override;
  void endCpuAccess() override;

 private:
  MappedFdMemory() = default;
  void sync(uint64_t flags);

  UniqueFd fd_;
  MappedRegion mapping_;
  uint64_t base_ = 0;
  uint64_t size_ = 0;
  bool isDmaBuf_ = true;  // until an ioctl says otherwise
  bool sealed_ = false;   // F_SEAL_SHRINK: no access can fault
};

}  // namespace vdec::buffers
