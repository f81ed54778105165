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

// virtio-video has no AV1: a backend's AV1 capability never reaches its QUERY_CAPABILITY.
TEST(FormatsTest, CapabilitiesLeaveOutAv1) {
  EXPECT_EQ(virtioFromCodedFormat(codecs::CodedFormat::kAv1), 0u);
  EXPECT_EQ(virtioFromProfile(CodecProfile::kAv1Main), 0u);
  for (uint32_t value = 0; value < 0x1000; ++value) {
    EXPECT_NE(codedFormatFromVirtio(value), codecs::CodedFormat::kAv1);
  }
  codecs::CodecCapability h264{codecs::CodedFormat::kH264, {CodecProfile::kH264Main}, {}};
  codecs::CodecCapability av1{codecs::CodedFormat::kAv1, {CodecProfile::kAv1Main}, {}};
  const std::vector<codecs::CodecCapability> caps{av1, h264, av1};
  ASSERT_EQ(virtioVideoCodecs(caps).size(), 1u);
  EXPECT_EQ(virtioVideoCodecs(caps)[0].format, codecs::CodedFormat::kH264);

  const std::vector<buffers::PixelFormat> outputs{buffers::PixelFormat::kNv12};
  const std::vector<std::byte> input =
      buildCapabilityResponse(QueueType::kInput, 0, caps, outputs);
  EXPECT_EQ(input, buildCapabilityResponse(QueueType::kInput, 0, {h264}, outputs));
  const std::vector<std::byte> output =
      buildCapabilityResponse(QueueType::kOutput, 0, caps, outputs);
  EXPECT_EQ(output, buildCapabilityResponse(QueueType::kOutput, 0, {h264}, outputs));
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
