// SPDX-License-Identifier: MIT
// VectorMemory: an in-memory ResourceMemory for codec tests (optionally without a mapping, so the
// writer takes its scatter path).
#pragma once

#include <cstring>
#include <vector>

#include "buffers/resource_memory.h"

namespace vdec::codecs::testing {

class VectorMemory final : public buffers::ResourceMemory {
 public:
  explicit VectorMemory(size_t size, bool contiguous = true)
      : bytes_(size), contiguous_(contiguous) {}

  uint64_t size() const override { return bytes_.size(); }
  Status write(uint64_t offset, std::span<const std::byte> data) override {
    if (offset > bytes_.size() || data.size() > bytes_.size() - offset) {
      return makeError(ErrorCode::kInvalidParameter, "write outside {} bytes", bytes_.size());
    }
    if (!data.empty()) std::memcpy(bytes_.data() + offset, data.data(), data.size());
    return okStatus();
  }
  Status read(uint64_t offset, std::span<std::byte> out) const override {
    if (offset > bytes_.size() || out.size() > bytes_.size() - offset) {
      return makeError(ErrorCode::kInvalidParameter, "read outside {} bytes", bytes_.size());
    }
    if (!out.empty()) std::memcpy(out.data(), bytes_.data() + offset, out.size());
    return okStatus();
  }
  std::span<std::byte> contiguous() override {
    return contiguous_ ? std::span<std::byte>(bytes_) : std::span<std::byte>();
  }
  const char* kind() const override { return "vector"; }

  const std::vector<std::byte>& bytes() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
  bool contiguous_;
};

}  // namespace vdec::codecs::testing
