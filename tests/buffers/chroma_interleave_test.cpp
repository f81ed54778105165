// SPDX-License-Identifier: MIT
// interleaveUvRow: the same bytes as the plain loop for every width around the vector step, any
// alignment of the output, cached and streaming stores; nothing written past 2 * width.
#include "buffers/chroma_interleave.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace vdec::buffers {
namespace {

constexpr uint8_t kGuard = 0xA5;

std::vector<uint8_t> expected(const std::vector<uint8_t>& u, const std::vector<uint8_t>& v,
                              size_t width) {
  std::vector<uint8_t> out(2 * width);
  for (size_t x = 0; x < width; ++x) {
    out[2 * x] = u[x];
    out[2 * x + 1] = v[x];
  }
  return out;
}

TEST(ChromaInterleaveTest, MatchesThePlainLoopForEveryWidthAlignmentAndStore) {
  for (RowStore store : {RowStore::kCached, RowStore::kStreaming}) {
    for (size_t width = 0; width <= 70; ++width) {
      for (size_t misalign = 0; misalign < 17; ++misalign) {
        std::vector<uint8_t> u(width + 1), v(width + 1);
        for (size_t x = 0; x < u.size(); ++x) {
          u[x] = static_cast<uint8_t>(x * 7 + 1);
          v[x] = static_cast<uint8_t>(255 - x * 3);
        }
        // 16-byte aligned storage, then `misalign` bytes in; guards on both sides.
        std::vector<uint8_t> storage(2 * width + misalign + 64, kGuard);
        auto* base = reinterpret_cast<uint8_t*>(
            (reinterpret_cast<uintptr_t>(storage.data()) + 15) & ~uintptr_t{15});
        uint8_t* out = base + misalign;
        interleaveUvRow(u.data() + 1, v.data() + 1, out, width, store);
        interleaveFence();
        const std::vector<uint8_t> want =
            expected({u.begin() + 1, u.end()}, {v.begin() + 1, v.end()}, width);
        ASSERT_EQ(std::vector<uint8_t>(out, out + 2 * width), want)
            << "width " << width << " misalign " << misalign;
        for (uint8_t* p = storage.data(); p < out; ++p) ASSERT_EQ(*p, kGuard);
        for (uint8_t* p = out + 2 * width; p < storage.data() + storage.size(); ++p) {
          ASSERT_EQ(*p, kGuard) << "written past the row, width " << width;
        }
      }
    }
  }
}

TEST(ChromaInterleaveTest, A1080pRowStreamsIntoAnAlignedBuffer) {
  constexpr size_t kWidth = 960;
  std::vector<uint8_t> u(kWidth), v(kWidth);
  for (size_t x = 0; x < kWidth; ++x) {
    u[x] = static_cast<uint8_t>(x);
    v[x] = static_cast<uint8_t>(x >> 2);
  }
  alignas(64) static uint8_t out[2 * kWidth];
  interleaveUvRow(u.data(), v.data(), out, kWidth, RowStore::kStreaming);
  interleaveFence();
  EXPECT_EQ(std::vector<uint8_t>(out, out + 2 * kWidth), expected(u, v, kWidth));
}

}  // namespace
}  // namespace vdec::buffers
