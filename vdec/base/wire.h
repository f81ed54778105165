// SPDX-License-Identifier: MIT
// Bounds-checked access to untrusted bytes: copy first, then validate the copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "vdec/base/result.h"

namespace vdec {

// Returns bytes[offset, offset + count) or an error; never overflows.
template <typename T>  // std::byte or const std::byte
Result<std::span<T>> checkedSubspan(std::span<T> bytes, size_t offset, size_t count) {
  if (offset > bytes.size() || count > bytes.size() - offset) {
    return makeError(ErrorCode::kInvalidParameter, "range [{}, +{}) outside {} bytes", offset,
                     count, bytes.size());
  }
  return bytes.subspan(offset, count);
}

// Copies a T out of bytes at offset (memcpy, so guest rewrites cannot change it afterwards).
template <typename T>
Result<T> readWire(std::span<const std::byte> bytes, size_t offset = 0) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (offset > bytes.size() || sizeof(T) > bytes.size() - offset) {
    return makeError(ErrorCode::kInvalidParameter, "{} bytes at offset {} outside {} bytes",
                     sizeof(T), offset, bytes.size());
  }
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

template <typename T>
void appendWire(std::vector<std::byte>& out, const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &value, sizeof(T));
}

template <typename T>
std::vector<std::byte> toBytes(const T& value) {
  std::vector<std::byte> out(sizeof(T));
  std::memcpy(out.data(), &value, sizeof(T));
  return out;
}

// a + b with overflow detection.
inline bool addOverflows(uint64_t a, uint64_t b, uint64_t* sum) {
  return __builtin_add_overflow(a, b, sum);
}

inline constexpr uint64_t alignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace vdec
