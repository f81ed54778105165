// SPDX-License-Identifier: MIT
// MappedRegion: the one owner of an mmap()ed range.
#pragma once

#include <cstddef>
#include <span>
#include <utility>

#include "vdec/base/result.h"

namespace vdec {

// Move-only owner of a mapping; munmap()s on destruction.
class MappedRegion {
 public:
  MappedRegion() = default;
  MappedRegion(MappedRegion&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  MappedRegion& operator=(MappedRegion&& other) noexcept;
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;
  ~MappedRegion() { reset(); }

  // Maps [offset, offset + size) of fd, MAP_SHARED, read-write unless readOnly.
  static Result<MappedRegion> map(int fd, size_t size, off_t offset, bool readOnly = false);
  // Anonymous private mapping (for host-side scratch and tests).
  static Result<MappedRegion> anonymous(size_t size);
  // Adopts an existing mapping; the region munmap()s it.
  static MappedRegion adopt(void* data, size_t size) { return MappedRegion(data, size); }

  [[nodiscard]] std::byte* data() const { return static_cast<std::byte*>(data_); }
  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] std::span<std::byte> bytes() const { return {data(), size_}; }
  [[nodiscard]] bool isValid() const { return data_ != nullptr; }
  void reset();

 private:
  MappedRegion(void* data, size_t size) : data_(data), size_(size) {}
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace vdec
