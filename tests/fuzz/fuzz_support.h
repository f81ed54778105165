// SPDX-License-Identifier: MIT
// Helpers shared by the libFuzzer targets: a byte reader for scripted inputs, a memfd guest RAM
// and silent logging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>

#include "buffers/guest_memory.h"

namespace vdec::fuzz {

// Aborts with a message: the fuzzer records the input as a crash.
[[noreturn]] void fail(const char* what);
#define VDEC_FUZZ_ASSERT(cond)                                        \
  do {                                                                \
    if (!(cond)) ::vdec::fuzz::fail("fuzz invariant broken: " #cond); \
  } while (0)

// Reads little-endian values off the front of a fuzz input; past the end it yields zeros, so a
// truncated script still runs.
class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}

  [[nodiscard]] bool empty() const { return data_.empty(); }
  [[nodiscard]] size_t remaining() const { return data_.size(); }
  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  uint64_t u64();
  // Up to `count` bytes (fewer at the end of the input).
  std::span<const uint8_t> bytes(size_t count);

 private:
  std::span<const uint8_t> data_;
};

// One memfd region of `size` bytes at guest-physical `base` (userAddr = base + kUserOffset),
// optionally followed by a second region of `extraSize` bytes right after it in guest-physical
// and user space but mapped separately (so a buffer crossing the boundary must be refused).
struct FuzzGuestMemory {
  static constexpr uint64_t kUserOffset = 0x7f0000000000ull;

  std::shared_ptr<buffers::GuestMemory> memory;
  std::byte* host = nullptr;  // the mapping of [base, base + size)
  uint64_t base = 0;
  uint64_t size = 0;

  void clear() const;
  // True if [p, p + n) lies inside one of the memory's mappings.
  [[nodiscard]] bool contains(const std::byte* p, size_t n) const;
};
// Aborts if the memfd cannot be created (an environment problem, not a finding).
FuzzGuestMemory makeFuzzGuestMemory(uint64_t size, uint64_t base, uint64_t extraSize = 0);

// Turns off spdlog and libavcodec logging (a fuzzer must not spend its time printing), unless
// VDEC_FUZZ_LOG names a spdlog level.
void silenceLogs();

}  // namespace vdec::fuzz
