// SPDX-License-Identifier: MIT
// copyImageToLayout: the VA bounce copy writes the advertised coded layout (not crosvm's packed
// display-size NV12) and converts NV12 <-> I420/YV12.
#include "buffers/va_image_copy.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

namespace vdec::buffers {
namespace {

// A plain in-memory resource, optionally without a mapping (row-by-row writes).
class BytesMemory final : public ResourceMemory {
 public:
  BytesMemory(size_t size, bool contiguous) : bytes_(size, std::byte{0xee}), contiguous_(contiguous) {}
  uint64_t size() const override { return bytes_.size(); }
  Status write(uint64_t offset, std::span<const std::byte> data) override {
    if (offset > bytes_.size() || data.size() > bytes_.size() - offset) {
      return makeError(ErrorCode::kInvalidParameter, "out of range");
    }
    std::memcpy(bytes_.data() + offset, data.data(), data.size());
    return okStatus();
  }
  Status read(uint64_t offset, std::span<std::byte> out) const override {
    std::memcpy(out.data(), bytes_.data() + offset, out.size());
    return okStatus();
  }
  std::span<std::byte> contiguous() override {
    return contiguous_ ? std::span<std::byte>(bytes_) : std::span<std::byte>();
  }
  const char* kind() const override { return "bytes"; }
  uint8_t at(uint64_t offset) const { return static_cast<uint8_t>(bytes_[offset]); }

 private:
  std::vector<std::byte> bytes_;
  bool contiguous_;
};

// An NV12 image of a 1080p-like stream in miniature: 64x36 coded, 64x30 visible, pitch 128
// (drivers pad pitches), every byte tells its plane, row and column.
struct Nv12Image {
  static constexpr uint32_t kWidth = 64, kHeight = 36, kPitch = 128;
  std::vector<uint8_t> y = std::vector<uint8_t>(kPitch * kHeight);
  std::vector<uint8_t> uv = std::vector<uint8_t>(kPitch * kHeight / 2);
  Nv12Image() {
    for (uint32_t r = 0; r < kHeight; ++r)
      for (uint32_t c = 0; c < kPitch; ++c) y[r * kPitch + c] = static_cast<uint8_t>(r + c);
    for (uint32_t r = 0; r < kHeight / 2; ++r)
      for (uint32_t c = 0; c < kPitch; ++c)
        uv[r * kPitch + c] = static_cast<uint8_t>(100 + r + (c % 2 == 0 ? c / 2 : 64 + c / 2));
  }
  ImagePlanes planes() const {
    ImagePlanes p;
    p.format = PixelFormat::kNv12;
    p.data[0] = y.data();
    p.data[1] = uv.data();
    p.pitch[0] = p.pitch[1] = kPitch;
    p.width = kWidth;
    p.height = kHeight;
    return p;
  }
  uint8_t u(uint32_t r, uint32_t c) const { return uv[r * kPitch + 2 * c]; }
  uint8_t v(uint32_t r, uint32_t c) const { return uv[r * kPitch + 2 * c + 1]; }
};

class VaImageCopyTest : public ::testing::TestWithParam<bool> {};

TEST_P(VaImageCopyTest, Nv12GoesToTheAdvertisedCodedLayout) {
  const Nv12Image image;
  auto layout = computeFrameLayout(PixelFormat::kNv12, 64, 36, {0, 0, 64, 30});
  ASSERT_TRUE(layout.has_value());
  BytesMemory memory(layout->totalSize(), GetParam());
  auto written = copyImageToLayout(image.planes(), memory, *layout);
  ASSERT_TRUE(written.has_value()) << written.error().message;
  EXPECT_EQ(*written, 64u * 36 + 64u * 18);
  // Chroma starts where GET_PARAMS said (after 36 coded rows), not after 30 display rows.
  const uint64_t uvOffset = layout->planes[1].offset;
  EXPECT_EQ(uvOffset, uint64_t{layout->planes[0].stride} * 36);
  EXPECT_EQ(memory.at(uvOffset), image.u(0, 0));
  EXPECT_EQ(memory.at(uvOffset + 1), image.v(0, 0));
  EXPECT_EQ(memory.at(uvOffset + layout->planes[1].stride * 17 + 2 * 31 + 1), image.v(17, 31));
  EXPECT_EQ(memory.at(layout->planes[0].stride * 35 + 63), image.y[35 * Nv12Image::kPitch + 63]);
}

TEST_P(VaImageCopyTest, Nv12IsDeinterleavedForI420AndYv12) {
  const Nv12Image image;
  for (PixelFormat format : {PixelFormat::kI420, PixelFormat::kYv12}) {
    auto layout = computeFrameLayout(format, 64, 36, {0, 0, 64, 30});
    ASSERT_TRUE(layout.has_value());
    BytesMemory memory(layout->totalSize(), GetParam());
    ASSERT_TRUE(copyImageToLayout(image.planes(), memory, *layout).has_value());
    const PlaneLayout& uPlane = layout->planes[format == PixelFormat::kI420 ? 1 : 2];
    const PlaneLayout& vPlane = layout->planes[format == PixelFormat::kI420 ? 2 : 1];
    EXPECT_EQ(memory.at(uPlane.offset + uPlane.stride * 5 + 7), image.u(5, 7));
    EXPECT_EQ(memory.at(vPlane.offset + vPlane.stride * 5 + 7), image.v(5, 7));
  }
}

TEST_P(VaImageCopyTest, PlanarSourceIsInterleavedForNv12) {
  std::vector<uint8_t> y(32 * 16, 1), u(16 * 8), v(16 * 8);
  for (size_t i = 0; i < u.size(); ++i) {
    u[i] = static_cast<uint8_t>(i);
    v[i] = static_cast<uint8_t>(200 - i);
  }
  ImagePlanes planes;
  planes.format = PixelFormat::kYv12;  // memory order Y, V, U
  planes.data[0] = y.data();
  planes.data[1] = v.data();
  planes.data[2] = u.data();
  planes.pitch[0] = 32;
  planes.pitch[1] = planes.pitch[2] = 16;
  planes.width = 32;
  planes.height = 16;
  auto layout = computeFrameLayout(PixelFormat::kNv12, 32, 16, {0, 0, 32, 16});
  BytesMemory memory(layout->totalSize(), GetParam());
  ASSERT_TRUE(copyImageToLayout(planes, memory, *layout).has_value());
  const uint64_t row3 = layout->planes[1].offset + layout->planes[1].stride * 3;
  EXPECT_EQ(memory.at(row3 + 2 * 4), u[3 * 16 + 4]);
  EXPECT_EQ(memory.at(row3 + 2 * 4 + 1), v[3 * 16 + 4]);
}

TEST_P(VaImageCopyTest, LayoutLargerThanTheResourceFailsWithoutWriting) {
  const Nv12Image image;
  auto layout = computeFrameLayout(PixelFormat::kNv12, 64, 36, {0, 0, 64, 30});
  BytesMemory memory(layout->totalSize() - 1, GetParam());
  auto written = copyImageToLayout(image.planes(), memory, *layout);
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(memory.at(0), 0xee);
}

INSTANTIATE_TEST_SUITE_P(Mapping, VaImageCopyTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Mapped" : "RowByRow"; });

}  // namespace
}  // namespace vdec::buffers
