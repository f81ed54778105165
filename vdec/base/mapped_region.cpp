// SPDX-License-Identifier: MIT
#include "vdec/base/mapped_region.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace vdec {

MappedRegion& MappedRegion::operator=(MappedRegion&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Result<MappedRegion> MappedRegion::map(int fd, size_t size, off_t offset, bool readOnly) {
  if (size == 0) return makeError(ErrorCode::kInvalidParameter, "mmap of zero bytes");
  int prot = PROT_READ | (readOnly ? 0 : PROT_WRITE);
  void* data = ::mmap(nullptr, size, prot, MAP_SHARED, fd, offset);
  if (data == MAP_FAILED) {
    return makeError(ErrorCode::kBackendFailure, "mmap(fd {}, {} bytes, offset {}): {}", fd, size,
                     offset, std::strerror(errno));
  }
  return MappedRegion(data, size);
}

Result<MappedRegion> MappedRegion::anonymous(size_t size) {
  if (size == 0) return makeError(ErrorCode::kInvalidParameter, "mmap of zero bytes");
  void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED) {
    return makeError(ErrorCode::kOutOfMemory, "anonymous mmap of {} bytes: {}", size,
                     std::strerror(errno));
  }
  return MappedRegion(data, size);
}

void MappedRegion::reset() {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace vdec
