// SPDX-License-Identifier: MIT
#include "buffers/frame_writer.h"

#include <gtest/gtest.h>

#include "buffers/guest_pages.h"
#include "tests/fakes/guest_memory_fixture.h"

namespace vdec::buffers {
namespace {

struct Picture {
  std::vector<uint8_t> y, u, v;
  PlanarPicture view;
};

Picture makePicture(uint32_t w, uint32_t h) {
  Picture p;
  const uint32_t cw = (w + 1) / 2, ch = (h + 1) / 2;
  p.y.resize(w * h);
  p.u.resize(cw * ch);
  p.v.resize(cw * ch);
  for (size_t i = 0; i < p.y.size(); ++i) p.y[i] = uint8_t(i);
  for (size_t i = 0; i < p.u.size(); ++i) p.u[i] = uint8_t(100 + i);
  for (size_t i = 0; i < p.v.size(); ++i) p.v[i] = uint8_t(200 + i);
  p.view = {{p.y.data(), p.u.data(), p.v.data()}, {int(w), int(cw), int(cw)}, w, h};
  return p;
}

TEST(FrameLayoutTest, Nv12AndI420Layouts) {
  auto nv12 = computeFrameLayout(PixelFormat::kNv12, 320, 240, {0, 0, 320, 240});
  ASSERT_TRUE(nv12.has_value());
  EXPECT_EQ(nv12->planes[0].stride, 320u);
  EXPECT_EQ(nv12->planes[1].offset, 320u * 240);
  EXPECT_EQ(nv12->totalSize(), 320u * 240 * 3 / 2);
  auto i420 = computeFrameLayout(PixelFormat::kI420, 1920, 1088, {0, 0, 1920, 1080});
  ASSERT_TRUE(i420.has_value());
  EXPECT_EQ(i420->numPlanes, 3u);
  EXPECT_EQ(i420->planes[2].offset, 1920u * 1088 * 5 / 4);
  auto odd = computeFrameLayout(PixelFormat::kNv12, 33, 17, {0, 0, 33, 17});
  EXPECT_EQ(odd->planes[0].stride, 64u);
  EXPECT_EQ(odd->height, 18u);
  EXPECT_FALSE(computeFrameLayout(PixelFormat::kNv12, 0, 240, {}).has_value());
  EXPECT_FALSE(computeFrameLayout(PixelFormat::kNv12, 100000, 240, {}).has_value());
}

class FrameWriterTest : public ::testing::TestWithParam<PixelFormat> {};

TEST_P(FrameWriterTest, WritesEveryFormatContiguousAndScattered) {
  auto ram = testing::makeTestGuestMemory(1 << 20, 0x100000);
  auto layout = computeFrameLayout(GetParam(), 34, 10, {0, 0, 34, 10});
  ASSERT_TRUE(layout.has_value());
  Picture picture = makePicture(34, 10);
  // Same frame into one contiguous run and into three out-of-order pages.
  auto contiguous = GuestPages::create(ram.memory, {{GuestAddress{0x100000}, 4096}}, 1 << 20);
  auto scattered = GuestPages::create(
      ram.memory, {{GuestAddress{0x105000}, 300}, {GuestAddress{0x102000}, 300}, {GuestAddress{0x108000}, 3496}},
      1 << 20);
  ASSERT_TRUE(contiguous && scattered);
  auto a = writePicture(**contiguous, *layout, picture.view);
  auto b = writePicture(**scattered, *layout, picture.view);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, 34u * 10 + 2 * 17 * 5);
  std::vector<std::byte> first(layout->totalSize()), second(layout->totalSize());
  ASSERT_TRUE((*contiguous)->read(0, first).has_value());
  ASSERT_TRUE((*scattered)->read(0, second).has_value());
  EXPECT_EQ(first, second);
  // Spot-check chroma placement.
  const auto& p1 = layout->planes[1];
  uint8_t firstChroma = uint8_t(first[p1.offset]);
  EXPECT_EQ(firstChroma, GetParam() == PixelFormat::kYv12 ? 200 : 100);
  if (GetParam() == PixelFormat::kNv12) {
    EXPECT_EQ(uint8_t(first[p1.offset + 1]), 200);
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, FrameWriterTest,
                         ::testing::Values(PixelFormat::kNv12, PixelFormat::kI420, PixelFormat::kYv12));

TEST(FrameWriterTest, RefusesFramesThatDoNotFit) {
  auto ram = testing::makeTestGuestMemory(1 << 20, 0x100000);
  auto layout = computeFrameLayout(PixelFormat::kNv12, 320, 240, {0, 0, 320, 240});
  auto small = GuestPages::create(ram.memory, {{GuestAddress{0x100000}, 4096}}, 1 << 20);
  Picture picture = makePicture(320, 240);
  EXPECT_FALSE(writePicture(**small, *layout, picture.view).has_value());
  auto big = GuestPages::create(ram.memory, {{GuestAddress{0x100000}, 1 << 19}}, 1 << 20);
  Picture tooWide = makePicture(400, 240);
  EXPECT_FALSE(writePicture(**big, *layout, tooWide.view).has_value());
}

}  // namespace
}  // namespace vdec::buffers
