// SPDX-License-Identifier: MIT
// Frame extraction: exact crop and lossless repacking from NV12/I420/YV12 output buffers.
#include "samples/harness/frame_converter.h"

#include <gtest/gtest.h>

#include "samples/harness/frame_sink.h"
#include "samples/harness/md5_hasher.h"

namespace vdec::harness {
namespace {

using buffers::PixelFormat;

constexpr uint32_t kWidth = 20;
constexpr uint32_t kHeight = 10;  // allocated rows
constexpr uint32_t kStride = 32;

std::byte lumaAt(uint32_t x, uint32_t y) { return std::byte((y * 23 + x * 3) & 0xff); }
std::byte uAt(uint32_t x, uint32_t y) { return std::byte(100 + y * 16 + x); }
std::byte vAt(uint32_t x, uint32_t y) { return std::byte(200 - y * 16 - x); }

// A virtio output buffer as the device lays it out: planes one after the other.
struct Synthetic {
  std::vector<std::byte> bytes;
  wire::virtio_video_params params{};
};

Synthetic makeBuffer(PixelFormat format, wire::virtio_video_crop crop) {
  Synthetic s;
  const uint32_t chromaRows = kHeight / 2;
  const uint32_t lumaSize = kStride * kHeight;
  auto& p = s.params;
  p.queue_type = wire::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
  p.frame_width = kWidth;
  p.frame_height = kHeight;
  p.crop = crop;
  p.plane_formats[0] = {lumaSize, kStride};
  if (format == PixelFormat::kNv12) {
    p.format = wire::VIRTIO_VIDEO_FORMAT_NV12;
    p.num_planes = 2;
    p.plane_formats[1] = {kStride * chromaRows, kStride};
  } else {
    p.format = format == PixelFormat::kI420 ? wire::VIRTIO_VIDEO_FORMAT_YUV420
                                            : wire::VIRTIO_VIDEO_FORMAT_YVU420;
    p.num_planes = 3;
    p.plane_formats[1] = {kStride / 2 * chromaRows, kStride / 2};
    p.plane_formats[2] = {kStride / 2 * chromaRows, kStride / 2};
  }
  s.bytes.assign(lumaSize + kStride * chromaRows, std::byte{0xee});  // padding stays 0xee
  for (uint32_t y = 0; y < kHeight; ++y)
    for (uint32_t x = 0; x < kWidth; ++x) s.bytes[y * kStride + x] = lumaAt(x, y);
  for (uint32_t y = 0; y < chromaRows; ++y) {
    for (uint32_t x = 0; x < kWidth / 2; ++x) {
      if (format == PixelFormat::kNv12) {
        s.bytes[lumaSize + y * kStride + 2 * x] = uAt(x, y);
        s.bytes[lumaSize + y * kStride + 2 * x + 1] = vAt(x, y);
      } else {
        const uint32_t half = kStride / 2;
        const uint32_t first = lumaSize + y * half + x;
        const uint32_t second = lumaSize + half * chromaRows + y * half + x;
        const bool i420 = format == PixelFormat::kI420;
        s.bytes[first] = i420 ? uAt(x, y) : vAt(x, y);
        s.bytes[second] = i420 ? vAt(x, y) : uAt(x, y);
      }
    }
  }
  return s;
}

// What ffmpeg -flags unaligned produces for the crop: chroma from (left/2, top/2),
// ceil(w/2) x ceil(h/2).
std::vector<std::byte> expected(DumpFormat format, wire::virtio_video_crop c) {
  std::vector<std::byte> out;
  for (uint32_t y = 0; y < c.height; ++y)
    for (uint32_t x = 0; x < c.width; ++x) out.push_back(lumaAt(c.left + x, c.top + y));
  const uint32_t cw = (c.width + 1) / 2, ch = (c.height + 1) / 2;
  const uint32_t cx = c.left / 2, cy = c.top / 2;
  if (format == DumpFormat::kYuv420p) {
    for (uint32_t y = 0; y < ch; ++y)
      for (uint32_t x = 0; x < cw; ++x) out.push_back(uAt(cx + x, cy + y));
    for (uint32_t y = 0; y < ch; ++y)
      for (uint32_t x = 0; x < cw; ++x) out.push_back(vAt(cx + x, cy + y));
  } else {
    for (uint32_t y = 0; y < ch; ++y)
      for (uint32_t x = 0; x < cw; ++x) {
        out.push_back(uAt(cx + x, cy + y));
        out.push_back(vAt(cx + x, cy + y));
      }
  }
  return out;
}

class FrameConverterTest : public ::testing::TestWithParam<std::tuple<PixelFormat, DumpFormat>> {};

TEST_P(FrameConverterTest, OddCropIsExactAndLossless) {
  const auto [source, dump] = GetParam();
  const wire::virtio_video_crop crop{2, 1, 13, 7};
  Synthetic buffer = makeBuffer(source, crop);
  auto layout = layoutFromParams(buffer.params);
  ASSERT_TRUE(layout) << layout.error().message;
  EXPECT_EQ(layout->visible, (buffers::Rect{2, 1, 13, 7}));
  PackedFrame frame;
  ASSERT_TRUE(packVisibleFrame(buffer.bytes, *layout, dump, frame));
  EXPECT_EQ(frame.width, 13u);
  EXPECT_EQ(frame.height, 7u);
  EXPECT_EQ(frame.bytes.size(), 13u * 7 + 2 * 7 * 4);
  EXPECT_EQ(frame.bytes, expected(dump, crop));
}

TEST_P(FrameConverterTest, ZeroCropMeansWholeFrame) {
  const auto [source, dump] = GetParam();
  Synthetic buffer = makeBuffer(source, {});
  auto layout = layoutFromParams(buffer.params);
  ASSERT_TRUE(layout);
  PackedFrame frame;
  ASSERT_TRUE(packVisibleFrame(buffer.bytes, *layout, dump, frame));
  EXPECT_EQ(frame.bytes, expected(dump, {0, 0, kWidth, kHeight}));
}

INSTANTIATE_TEST_SUITE_P(
    AllFormats, FrameConverterTest,
    ::testing::Combine(::testing::Values(PixelFormat::kNv12, PixelFormat::kI420,
                                         PixelFormat::kYv12),
                       ::testing::Values(DumpFormat::kYuv420p, DumpFormat::kNv12)),
    [](const auto& info) {  // e.g. nv12_to_yuv420p
      return std::string(buffers::pixelFormatName(std::get<0>(info.param))) + "_to_" +
             std::string(dumpFormatName(std::get<1>(info.param)));
    });

TEST(FrameConverter, RejectsPlanesOutsideTheResource) {
  Synthetic buffer = makeBuffer(PixelFormat::kNv12, {0, 0, kWidth, kHeight});
  auto layout = layoutFromParams(buffer.params);
  ASSERT_TRUE(layout);
  PackedFrame frame;
  // The last chroma row has 12 bytes of padding after its 20 visible bytes.
  std::span<const std::byte> truncated(buffer.bytes.data(), buffer.bytes.size() - 13);
  EXPECT_TRUE(packVisibleFrame(std::span(buffer.bytes).first(buffer.bytes.size() - 12), *layout,
                               DumpFormat::kYuv420p, frame));
  EXPECT_FALSE(packVisibleFrame(truncated, *layout, DumpFormat::kYuv420p, frame));
}

TEST(FrameConverter, RejectsCropOutsideFrameAndCodedFormats) {
  Synthetic buffer = makeBuffer(PixelFormat::kNv12, {10, 0, 11, 4});
  EXPECT_FALSE(layoutFromParams(buffer.params));
  buffer.params.crop = {};
  buffer.params.format = wire::VIRTIO_VIDEO_FORMAT_H264;
  EXPECT_FALSE(layoutFromParams(buffer.params));
}

TEST(FrameSink, Md5sFollowTheFrames) {
  const wire::virtio_video_crop crop{2, 1, 13, 7};
  Synthetic buffer = makeBuffer(PixelFormat::kI420, crop);
  auto layout = layoutFromParams(buffer.params);
  ASSERT_TRUE(layout);
  auto sink = FrameSink::create({});
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->consume(buffer.bytes, *layout));
  ASSERT_TRUE(sink->consume(buffer.bytes, *layout));
  std::vector<std::byte> one = expected(DumpFormat::kYuv420p, crop);
  ASSERT_EQ(sink->frames(), 2u);
  EXPECT_EQ(sink->frameMd5s()[0], Md5Hasher::of(one));
  std::vector<std::byte> both = one;
  both.insert(both.end(), one.begin(), one.end());
  EXPECT_EQ(sink->wholeMd5(), Md5Hasher::of(both));
  EXPECT_TRUE(sink->finish());
}

TEST(Md5Hasher, KnownDigests) {
  EXPECT_EQ(Md5Hasher::of({}), "d41d8cd98f00b204e9800998ecf8427e");
  const char abc[] = "abc";
  EXPECT_EQ(Md5Hasher::of(std::as_bytes(std::span(abc, 3))), "900150983cd24fb0d6963f7d28e17f72");
}

}  // namespace
}  // namespace vdec::harness
