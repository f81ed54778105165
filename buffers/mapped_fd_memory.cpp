// SPDX-License-Identifier: MIT
#include "buffers/mapped_fd_memory.h"

#include <linux/dma-buf.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "buffers/fd_seals.h"
#include "buffers/sigbus_guard.h"
#include "vdec/base/logging.h"
#include "vdec/base/wire.h"

namespace vdec::buffers {

Result<std::unique_ptr<MappedFdMemory>> MappedFdMemory::create(UniqueFd fd, uint64_t baseOffset,
                                                               uint64_t maxSize) {
  off_t end = ::lseek(fd.get(), 0, SEEK_END);
  if (end <= 0) {
    return makeError(ErrorCode::kInvalidParameter, "object fd has no size ({})",
                     end < 0 ? std::strerror(errno) : "empty");
  }
  const auto total = static_cast<uint64_t>(end);
  if (baseOffset >= total) {
    return makeError(ErrorCode::kInvalidParameter, "plane offset {} beyond object of {} bytes",
                     baseOffset, total);
  }
  if (total > maxSize) {
    return makeError(ErrorCode::kInvalidParameter, "object of {} bytes exceeds limit {}", total,
                     maxSize);
  }
  // After the size checks: a sealed fd keeps that size; an unsealable one is guarded.
  VDEC_ASSIGN_OR_RETURN(const bool sealed, checkShrinkSeal(fd.get(), "virtio object"));
  VDEC_ASSIGN_OR_RETURN(auto mapping, MappedRegion::map(fd.get(), total, 0));
  std::unique_ptr<MappedFdMemory> memory(new MappedFdMemory());
  memory->sealed_ = sealed;
  memory->fd_ = std::move(fd);
  memory->mapping_ = std::move(mapping);
  memory->base_ = baseOffset;
  memory->size_ = total - baseOffset;
  return memory;
}

void MappedFdMemory::sync(uint64_t flags) {
  if (!isDmaBuf_) return;
  dma_buf_sync request{flags};
  int ret;
  do {
    ret = ::ioctl(fd_.get(), DMA_BUF_IOCTL_SYNC, &request);
  } while (ret < 0 && (errno == EINTR || errno == EAGAIN));
  if (ret < 0) {
    // Not a dma-buf (memfd, shm): nothing to synchronize, and no point asking again.
    isDmaBuf_ = false;
    logs::buffers().debug("fd {} is not a dma-buf ({}); no DMA_BUF_IOCTL_SYNC", fd_.get(),
                          std::strerror(errno));
  }
}

void MappedFdMemory::beginCpuAccess() { sync(DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW); }
void MappedFdMemory::endCpuAccess() { sync(DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW); }

Status MappedFdMemory::write(uint64_t offset, std::span<const std::byte> data) {
  uint64_t end = 0;
  if (addOverflows(offset, data.size(), &end) || end > size_) {
    return makeError(ErrorCode::kInvalidParameter, "write [{}, +{}) outside {} bytes", offset,
                     data.size(), size_);
  }
  if (!guardedCopy(mapping_.data() + base_ + offset, data.data(), data.size())) {
    return makeError(ErrorCode::kInvalidParameter, "{} faulted (truncated?)", kind());
  }
  return okStatus();
}

Status MappedFdMemory::read(uint64_t offset, std::span<std::byte> out) const {
  uint64_t end = 0;
  if (addOverflows(offset, out.size(), &end) || end > size_) {
    return makeError(ErrorCode::kInvalidParameter, "read [{}, +{}) outside {} bytes", offset,
                     out.size(), size_);
  }
  if (!guardedCopy(out.data(), mapping_.data() + base_ + offset, out.size())) {
    return makeError(ErrorCode::kInvalidParameter, "{} faulted (truncated?)", kind());
  }
  return okStatus();
}

std::span<std::byte> MappedFdMemory::contiguous() {
  if (!sealed_) return {};  // a raw mapping could fault in whoever uses it
  return {mapping_.data() + base_, size_};
}

}  // namespace vdec::buffers
