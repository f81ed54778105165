// SPDX-License-Identifier: MIT
// VectorMemory: an in-memory ResourceMemory for codec tests (optionally without a mapping, so the
// writer takes its scatter path).
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "buffers/resource_memory.h"

namespace vdec::codecs::testing {

class VectorMemory final : public buffers::ResourceMemory {
 public:
  // The bytes start on a 64-byte boundary, as page-aligned guest buffers do.
  explicit VectorMemory(size_t size, bool contiguous = true)
      : storage_(static_cast<std::byte*>(std::aligned_alloc(kAlign, (size + kAlign - 1) / kAlign * kAlign))),
        bytes_(storage_.get(), size),
        contiguous_(contiguous) {
    std::memset(bytes_.data(), 0, bytes_.size());
  }

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
    contiguousCalls_.fetch_add(1, std::memory_order_relaxed);  // any thread (get_buffer2)
    return contiguous_ ? bytes_ : std::span<std::byte>();
  }
  // How often contiguous() was asked for: a GuestPages window is mapped at the first call.
  uint64_t contiguousCalls() const { return contiguousCalls_.load(std::memory_order_relaxed); }
  const char* kind() const override { return "vector"; }

  std::span<const std::byte> bytes() const { return bytes_; }
  std::vector<std::byte> copy() const { return {bytes_.begin(), bytes_.end()}; }

 private:
  static constexpr size_t kAlign = 64;
  struct FreeDeleter {
    void operator()(std::byte* bytes) const { std::free(bytes); }
  };
  std::unique_ptr<std::byte[], FreeDeleter> storage_;
  std::span<std::byte> bytes_;
  bool contiguous_;
  std::atomic<uint64_t> contiguousCalls_{0};
};

}  // namespace vdec::codecs::testing
