// SPDX-License-Identifier: MIT
#include "vdec/formats.h"

#include <gtest/gtest.h>

#include "vdec/protocol/virtio_video.h"

namespace vdec {
namespace {

namespace w = wire;
using codecs::CodecLevel;
using codecs::CodecProfile;

TEST(FormatsTest, ProfilesMapToTheirWireValuesInOrder) {
  EXPECT_EQ(virtioFromProfile(CodecProfile::kH264Baseline), w::VIRTIO_VIDEO_PROFILE_H264_BASELINE);
  EXPECT_EQ(virtioFromProfile(CodecProfile::kH264High), w::VIRTIO_VIDEO_PROFILE_H264_HIGH);
  EXPECT_EQ(virtioFromProfile(CodecProfile::kHevcMain), w::VIRTIO_VIDEO_PROFILE_HEVC_MAIN);
  EXPECT_EQ(virtioFromProfile(CodecProfile::kHevcMainStillPicture),
            w::VIRTIO_VIDEO_PROFILE_HEVC_MAIN_STILL_PICTURE);
  EXPECT_EQ(virtioFromProfile(CodecProfile::kVp8Profile2), 0x302u);
  EXPECT_EQ(virtioFromProfile(CodecProfile::kVp9Profile0), w::VIRTIO_VIDEO_PROFILE_VP9_PROFILE0);
  // The enum lists wire values in increasing order, so sorted capabilities stay sorted.
  for (auto p = static_cast<int>(CodecProfile::kH264Baseline);
       p < static_cast<int>(CodecProfile::kVp9Profile3); ++p) {
    EXPECT_LT(virtioFromProfile(static_cast<CodecProfile>(p)),
              virtioFromProfile(static_cast<CodecProfile>(p + 1)));
  }
}

TEST(FormatsTest, H264LevelsAreTheFifteenWireValues) {
  const std::vector<CodecLevel> levels = codecs::allH264Levels();
  ASSERT_EQ(levels.size(), 15u);
  for (size_t i = 0; i < levels.size(); ++i) {
    EXPECT_EQ(virtioFromLevel(levels[i]), w::VIRTIO_VIDEO_LEVEL_H264_1_0 + i);
  }
  EXPECT_EQ(virtioFromLevel(CodecLevel::kH264_5_1), w::VIRTIO_VIDEO_LEVEL_H264_5_1);
}

}  // namespace
}  // namespace vdec
