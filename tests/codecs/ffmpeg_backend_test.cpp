// SPDX-License-Identifier: MIT
#include "codecs/ffmpeg_backend.h"

#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

extern "C" {
#include <libavcodec/avcodec.h>
}

#include "vdec/protocol/virtio_video.h"

namespace vdec::codecs {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

const CodecCapability* find(const std::vector<CodecCapability>& caps, CodedFormat format) {
  auto it = std::find_if(caps.begin(), caps.end(),
                         [&](const CodecCapability& cap) { return cap.format == format; });
  return it == caps.end() ? nullptr : &*it;
}

TEST(FfmpegBackendTest, NameAndOutputFormats) {
  FfmpegBackend backend;
  EXPECT_EQ(backend.name(), "ffmpeg");
  EXPECT_THAT(backend.outputFormats(),
              ElementsAre(buffers::PixelFormat::kNv12, buffers::PixelFormat::kI420,
                          buffers::PixelFormat::kYv12));
}

TEST(FfmpegBackendTest, AdvertisesFourCodecsWithEightBit420Profiles) {
  FfmpegBackend backend;
  const auto caps = backend.capabilities();
  ASSERT_EQ(caps.size(), 4u);
  for (CodedFormat format :
       {CodedFormat::kH264, CodedFormat::kHevc, CodedFormat::kVp8, CodedFormat::kVp9}) {
    const CodecCapability* cap = find(caps, format);
    ASSERT_NE(cap, nullptr) << codedFormatName(format);
    EXPECT_THAT(cap->profiles, Not(IsEmpty()));
    EXPECT_EQ(cap->minWidth, 16u);
    EXPECT_EQ(cap->minHeight, 16u);
    EXPECT_EQ(cap->maxWidth, 8192u);
    EXPECT_EQ(cap->maxHeight, 8192u);
    if (format != CodedFormat::kH264) {
      EXPECT_THAT(cap->levels, IsEmpty());
    }
  }
  EXPECT_THAT(
      find(caps, CodedFormat::kH264)->profiles,
      ElementsAre(wire::VIRTIO_VIDEO_PROFILE_H264_BASELINE, wire::VIRTIO_VIDEO_PROFILE_H264_MAIN,
                  wire::VIRTIO_VIDEO_PROFILE_H264_EXTENDED, wire::VIRTIO_VIDEO_PROFILE_H264_HIGH));
  const auto& levels = find(caps, CodedFormat::kH264)->levels;
  ASSERT_EQ(levels.size(), 15u);
  EXPECT_EQ(levels.front(), wire::VIRTIO_VIDEO_LEVEL_H264_1_0);
  EXPECT_EQ(levels.back(), wire::VIRTIO_VIDEO_LEVEL_H264_5_1);
  EXPECT_THAT(find(caps, CodedFormat::kHevc)->profiles,
              ElementsAre(wire::VIRTIO_VIDEO_PROFILE_HEVC_MAIN,
                          wire::VIRTIO_VIDEO_PROFILE_HEVC_MAIN_STILL_PICTURE));
  EXPECT_THAT(find(caps, CodedFormat::kVp8)->profiles, ElementsAre(0x300u, 0x301u, 0x302u, 0x303u));
  EXPECT_THAT(find(caps, CodedFormat::kVp9)->profiles,
              ElementsAre(wire::VIRTIO_VIDEO_PROFILE_VP9_PROFILE0));
}

TEST(FfmpegBackendTest, ProfileMappingLeavesOutWhatWeCannotOutput) {
  EXPECT_EQ(virtioProfile(CodedFormat::kH264, FF_PROFILE_H264_CONSTRAINED_BASELINE),
            wire::VIRTIO_VIDEO_PROFILE_H264_BASELINE);
  EXPECT_EQ(virtioProfile(CodedFormat::kH264, FF_PROFILE_H264_HIGH_10), 0u);
  EXPECT_EQ(virtioProfile(CodedFormat::kH264, FF_PROFILE_H264_HIGH_422), 0u);
  EXPECT_EQ(virtioProfile(CodedFormat::kHevc, FF_PROFILE_HEVC_MAIN_10), 0u);
  EXPECT_EQ(virtioProfile(CodedFormat::kVp9, FF_PROFILE_VP9_1), 0u);
  EXPECT_EQ(virtioProfile(CodedFormat::kVp9, FF_PROFILE_VP9_2), 0u);
  EXPECT_EQ(virtioProfile(CodedFormat::kVp8, 4), 0u);
}

TEST(FfmpegBackendTest, CreatesASessionForEveryCodec) {
  FfmpegBackend backend;
  for (CodedFormat format :
       {CodedFormat::kH264, CodedFormat::kHevc, CodedFormat::kVp8, CodedFormat::kVp9}) {
    auto session = backend.createSession(format, SessionOptions{});
    ASSERT_TRUE(session) << session.error().message;
    EXPECT_NE(*session, nullptr);
  }
}

}  // namespace
}  // namespace vdec::codecs
