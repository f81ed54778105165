// SPDX-License-Identifier: MIT
// sliceHeadCut: where the probe's copy of an access unit ends; short, empty, oversized and
// start-code-only input, both codecs' NAL types.
#include "codecs/slice_head_cut.h"

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

TEST(SliceHeadCutTest, H264KeepsParameterSetsAndTheSliceHead) {
  const auto sps = nal({0x67}, 20, true);
  const auto pps = nal({0x68}, 6);
  const auto idr = nal({0x65}, 5000);
  const auto second = nal({0x65}, 5000);
  const auto au = join({sps, pps, idr, second});
  const auto cut = sliceHeadCut(AV_CODEC_ID_H264, au);
  ASSERT_TRUE(cut);
  EXPECT_EQ(*cut, sps.size() + pps.size() + 3 + kSliceHeadBytes);
}

TEST(SliceHeadCutTest, EveryH264SliceTypeCountsAndNothingElse) {
  for (uint8_t type = 0; type < 32; ++type) {
    const auto au = nal({static_cast<uint8_t>(0x60 | type)}, 4000);
    const bool slice = type >= 1 && type <= 5;
    EXPECT_EQ(sliceHeadCut(AV_CODEC_ID_H264, au).has_value(), slice) << int(type);
  }
}

TEST(SliceHeadCutTest, HevcVclTypesCountAndParameterSetsDoNot) {
  const auto vps = nal({0x40, 0x01}, 20);    // type 32
  const auto sps = nal({0x42, 0x01}, 40);    // 33
  const auto pps = nal({0x44, 0x01}, 8);     // 34
  const auto sei = nal({0x4E, 0x01}, 8);     // 39
  const auto idr = nal({0x26, 0x01}, 9000);  // 19: IDR_W_RADL
  const auto cut = sliceHeadCut(AV_CODEC_ID_HEVC, join({vps, sps, pps, sei, idr}));
  ASSERT_TRUE(cut);
  EXPECT_EQ(*cut, vps.size() + sps.size() + pps.size() + sei.size() + 3 + kSliceHeadBytes);
  EXPECT_FALSE(sliceHeadCut(AV_CODEC_ID_HEVC, join({vps, sps, pps, sei})));
  const auto trail = nal({0x02, 0x01}, 9000);  // 1: TRAIL_R
  EXPECT_TRUE(sliceHeadCut(AV_CODEC_ID_HEVC, trail));
}

TEST(SliceHeadCutTest, NothingToCutIsNullopt) {
  // Other codecs, empty and tiny input, start codes without a NAL header byte, no start code.
  EXPECT_FALSE(sliceHeadCut(AV_CODEC_ID_VP9, nal({0x65}, 5000)));
  EXPECT_FALSE(sliceHeadCut(AV_CODEC_ID_H264, {}));
  for (std::vector<uint8_t> tiny :
       {std::vector<uint8_t>{0}, {0, 0}, {0, 0, 1}, {0, 0, 0, 1}, {0, 0, 1, 0}}) {
    EXPECT_FALSE(sliceHeadCut(AV_CODEC_ID_H264, tiny));
    EXPECT_FALSE(sliceHeadCut(AV_CODEC_ID_HEVC, tiny));
  }
  EXPECT_FALSE(sliceHeadCut(AV_CODEC_ID_H264, std::vector<uint8_t>(100000, 0xFF)));
  EXPECT_FALSE(sliceHeadCut(AV_CODEC_ID_H264, std::vector<uint8_t>(100000, 0x00)));
}

TEST(SliceHeadCutTest, ASliceThatEndsWithinTheHeadIsFedWhole) {
  // Exactly kSliceHeadBytes after the start code: nothing would be cut.
  EXPECT_FALSE(sliceHeadCut(AV_CODEC_ID_H264, nal({0x65}, kSliceHeadBytes - 1)));
  const auto oneMore = nal({0x65}, kSliceHeadBytes);
  const auto cut = sliceHeadCut(AV_CODEC_ID_H264, oneMore);
  ASSERT_TRUE(cut);
  EXPECT_EQ(*cut, oneMore.size() - 1);
  // A short first slice followed by others: cut inside the later ones.
  const auto au = join({nal({0x65}, 100), nal({0x65}, 100), nal({0x65}, 5000)});
  ASSERT_TRUE(sliceHeadCut(AV_CODEC_ID_H264, au));
  EXPECT_EQ(*sliceHeadCut(AV_CODEC_ID_H264, au), 3 + kSliceHeadBytes);
}

TEST(SliceHeadCutTest, AStartCodeRightAfterAZeroHeaderIsFound) {
  // 00 00 01 00 | 00 00 01 65 ...: the zero NAL header byte starts the next start code.
  std::vector<uint8_t> au{0, 0, 1, 0, 0, 1, 0x65};
  au.insert(au.end(), 4000, 0xA5);
  const auto cut = sliceHeadCut(AV_CODEC_ID_H264, au);
  ASSERT_TRUE(cut);
  EXPECT_EQ(*cut, 6 + kSliceHeadBytes);
}

}  // namespace
}  // namespace vdec::codecs
