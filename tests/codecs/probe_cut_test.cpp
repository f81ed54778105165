// SPDX-License-Identifier: MIT
// probeCut: where the probe's copy of an access unit ends; short, empty, oversized and
// start-code-only input, both NAL codecs' types, VP9.
#include "codecs/probe_cut.h"

#include <vector>

#include <gtest/gtest.h>

namespace vdec::codecs {
namespace {

std::vector<uint8_t> nal(std::vector<uint8_t> header, size_t payload,
                         bool fourByteStartCode = false) {
  std::vector<uint8_t> bytes{0, 0, 1};
  if (fourByteStartCode) bytes.insert(bytes.begin(), 0);
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), payload, 0xA5);  // no start code inside
  return bytes;
}

std::vector<uint8_t> join(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

TEST(ProbeCutTest, H264KeepsParameterSetsAndTheSliceHead) {
  const auto sps = nal({0x67}, 20, true);
  const auto pps = nal({0x68}, 6);
  const auto idr = nal({0x65}, 5000);
  const auto second = nal({0x65}, 5000);
  const auto au = join({sps, pps, idr, second});
  const auto cut = probeCut(AV_CODEC_ID_H264, au);
  ASSERT_TRUE(cut);
  EXPECT_EQ(*cut, sps.size() + pps.size() + 3 + kSliceHeadBytes);
}

TEST(ProbeCutTest, EveryH264SliceTypeCountsAndNothingElse) {
  for (uint8_t type = 0; type < 32; ++type) {
    const auto au = nal({static_cast<uint8_t>(0x60 | type)}, 4000);
    const bool slice = type >= 1 && type <= 5;
    EXPECT_EQ(probeCut(AV_CODEC_ID_H264, au).has_value(), slice) << int(type);
  }
}

TEST(ProbeCutTest, HevcVclTypesCountAndParameterSetsDoNot) {
  const auto vps = nal({0x40, 0x01}, 20);    // type 32
  const auto sps = nal({0x42, 0x01}, 40);    // 33
  const auto pps = nal({0x44, 0x01}, 8);     // 34
  const auto sei = nal({0x4E, 0x01}, 8);     // 39
  const auto idr = nal({0x26, 0x01}, 9000);  // 19: IDR_W_RADL
  const auto cut = probeCut(AV_CODEC_ID_HEVC, join({vps, sps, pps, sei, idr}));
  ASSERT_TRUE(cut);
  EXPECT_EQ(*cut, vps.size() + sps.size() + pps.size() + sei.size() + 3 + kSliceHeadBytes);
  EXPECT_FALSE(probeCut(AV_CODEC_ID_HEVC, join({vps, sps, pps, sei})));
  const auto trail = nal({0x02, 0x01}, 9000);  // 1: TRAIL_R
  EXPECT_TRUE(probeCut(AV_CODEC_ID_HEVC, trail));
}

TEST(ProbeCutTest, NothingToCutIsNullopt) {
  // Other codecs, empty and tiny input, start codes without a NAL header byte, no start code.
  EXPECT_FALSE(probeCut(AV_CODEC_ID_VP8, nal({0x65}, 5000)));
  EXPECT_FALSE(probeCut(AV_CODEC_ID_AV1, nal({0x65}, 5000)));
  EXPECT_FALSE(probeCut(AV_CODEC_ID_H264, {}));
  for (std::vector<uint8_t> tiny :
       {std::vector<uint8_t>{0}, {0, 0}, {0, 0, 1}, {0, 0, 0, 1}, {0, 0, 1, 0}}) {
    EXPECT_FALSE(probeCut(AV_CODEC_ID_H264, tiny));
    EXPECT_FALSE(probeCut(AV_CODEC_ID_HEVC, tiny));
  }
  EXPECT_FALSE(probeCut(AV_CODEC_ID_H264, std::vector<uint8_t>(100000, 0xFF)));
  EXPECT_FALSE(probeCut(AV_CODEC_ID_H264, std::vector<uint8_t>(100000, 0x00)));
}

TEST(ProbeCutTest, ASliceThatEndsWithinTheHeadIsFedWhole) {
  // Exactly kSliceHeadBytes after the start code: nothing would be cut.
  EXPECT_FALSE(probeCut(AV_CODEC_ID_H264, nal({0x65}, kSliceHeadBytes - 1)));
  const auto oneMore = nal({0x65}, kSliceHeadBytes);
  const auto cut = probeCut(AV_CODEC_ID_H264, oneMore);
  ASSERT_TRUE(cut);
  EXPECT_EQ(*cut, oneMore.size() - 1);
  // A short first slice followed by others: cut inside the later ones.
  const auto au = join({nal({0x65}, 100), nal({0x65}, 100), nal({0x65}, 5000)});
  ASSERT_TRUE(probeCut(AV_CODEC_ID_H264, au));
  EXPECT_EQ(*probeCut(AV_CODEC_ID_H264, au), 3 + kSliceHeadBytes);
}

TEST(ProbeCutTest, AStartCodeRightAfterAZeroHeaderIsFound) {
  // 00 00 01 00 | 00 00 01 65 ...: the zero NAL header byte starts the next start code.
  std::vector<uint8_t> au{0, 0, 1, 0, 0, 1, 0x65};
  au.insert(au.end(), 4000, 0xA5);
  const auto cut = probeCut(AV_CODEC_ID_H264, au);
  ASSERT_TRUE(cut);
  EXPECT_EQ(*cut, 6 + kSliceHeadBytes);
}

TEST(ProbeCutTest, Vp9KeepsTheFrameHead) {
  EXPECT_FALSE(probeCut(AV_CODEC_ID_VP9, {}));
  EXPECT_FALSE(probeCut(AV_CODEC_ID_VP9, std::vector<uint8_t>(kVp9FrameHeadBytes, 0x82)));
  const std::vector<uint8_t> frame(kVp9FrameHeadBytes + 1, 0x82);
  ASSERT_TRUE(probeCut(AV_CODEC_ID_VP9, frame));
  EXPECT_EQ(*probeCut(AV_CODEC_ID_VP9, frame), kVp9FrameHeadBytes);
  EXPECT_EQ(*probeCut(AV_CODEC_ID_VP9, std::vector<uint8_t>(1 << 20, 0)), kVp9FrameHeadBytes);
}

}  // namespace
}  // namespace vdec::codecs
