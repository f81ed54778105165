// SPDX-License-Identifier: MIT
#include "codecs/ffmpeg_backend.h"

#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "codecs/ffmpeg_format.h"

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace vdec::codecs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
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

bool hasLibdav1d() { return avcodec_find_decoder_by_name("libdav1d") != nullptr; }

// Four codecs, and AV1 where libavcodec has libdav1d (Debian's has).
TEST(FfmpegBackendTest, AdvertisesEveryCodecWithEightBit420Profiles) {
  FfmpegBackend backend;
  const auto caps = backend.capabilities();
  ASSERT_EQ(caps.size(), hasLibdav1d() ? 5u : 4u);
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
  EXPECT_THAT(find(caps, CodedFormat::kH264)->profiles,
              ElementsAre(CodecProfile::kH264Baseline, CodecProfile::kH264Main,
                          CodecProfile::kH264Extended, CodecProfile::kH264High));
  const auto& levels = find(caps, CodedFormat::kH264)->levels;
  ASSERT_EQ(levels.size(), 15u);
  EXPECT_EQ(levels.front(), CodecLevel::kH264_1_0);
  EXPECT_EQ(levels.back(), CodecLevel::kH264_5_1);
  EXPECT_THAT(find(caps, CodedFormat::kHevc)->profiles,
              ElementsAre(CodecProfile::kHevcMain, CodecProfile::kHevcMainStillPicture));
  EXPECT_THAT(find(caps, CodedFormat::kVp8)->profiles,
              ElementsAre(CodecProfile::kVp8Profile0, CodecProfile::kVp8Profile1,
                          CodecProfile::kVp8Profile2, CodecProfile::kVp8Profile3));
  EXPECT_THAT(find(caps, CodedFormat::kVp9)->profiles, ElementsAre(CodecProfile::kVp9Profile0));
  if (hasLibdav1d()) {
    const CodecCapability* av1 = find(caps, CodedFormat::kAv1);
    ASSERT_NE(av1, nullptr);
    EXPECT_THAT(av1->profiles, ElementsAre(CodecProfile::kAv1Main));
    EXPECT_THAT(av1->levels, IsEmpty());
    EXPECT_EQ(av1->maxWidth, 8192u);
  } else {
    EXPECT_EQ(find(caps, CodedFormat::kAv1), nullptr);
  }
}

TEST(FfmpegBackendTest, Av1IsLibdav1dsOrAClearError) {
  const AVCodec* decoder = findSoftwareDecoder(AV_CODEC_ID_AV1);
  if (hasLibdav1d()) {
    ASSERT_NE(decoder, nullptr);
    EXPECT_STREQ(decoder->name, "libdav1d");  // never the hardware-only native av1 decoder
    // libdav1d decodes into its own pictures: no get_buffer2, so no direct rendering.
    EXPECT_EQ(decoder->capabilities & AV_CODEC_CAP_DR1, 0);
  } else {
    EXPECT_EQ(decoder, nullptr);
  }
  EXPECT_THAT(missingDecoderReason(AV_CODEC_ID_AV1), HasSubstr("libdav1d"));
  EXPECT_EQ(findSoftwareDecoder(AV_CODEC_ID_VP9), avcodec_find_decoder(AV_CODEC_ID_VP9));
}

TEST(FfmpegBackendTest, ProfileMappingLeavesOutWhatWeCannotOutput) {
  EXPECT_EQ(codecProfile(CodedFormat::kH264, FF_PROFILE_H264_CONSTRAINED_BASELINE),
            CodecProfile::kH264Baseline);
  EXPECT_EQ(codecProfile(CodedFormat::kH264, FF_PROFILE_H264_HIGH_10), std::nullopt);
  EXPECT_EQ(codecProfile(CodedFormat::kH264, FF_PROFILE_H264_HIGH_422), std::nullopt);
  EXPECT_EQ(codecProfile(CodedFormat::kHevc, FF_PROFILE_HEVC_MAIN_10), std::nullopt);
  EXPECT_EQ(codecProfile(CodedFormat::kVp9, FF_PROFILE_VP9_1), std::nullopt);
  EXPECT_EQ(codecProfile(CodedFormat::kVp9, FF_PROFILE_VP9_2), std::nullopt);
  EXPECT_EQ(codecProfile(CodedFormat::kVp8, 4), std::nullopt);
  EXPECT_EQ(codecProfile(CodedFormat::kAv1, FF_PROFILE_AV1_MAIN), CodecProfile::kAv1Main);
  EXPECT_EQ(codecProfile(CodedFormat::kAv1, FF_PROFILE_AV1_HIGH), std::nullopt);
  EXPECT_EQ(codecProfile(CodedFormat::kAv1, FF_PROFILE_AV1_PROFESSIONAL), std::nullopt);
}

TEST(FfmpegBackendTest, CreatesASessionForEveryCodec) {
  FfmpegBackend backend;
  for (CodedFormat format :
       {CodedFormat::kH264, CodedFormat::kHevc, CodedFormat::kVp8, CodedFormat::kVp9}) {
    auto session = backend.createSession(format, SessionOptions{});
    ASSERT_TRUE(session) << session.error().message;
    EXPECT_NE(*session, nullptr);
  }
  auto av1 = backend.createSession(CodedFormat::kAv1, SessionOptions{});
  if (hasLibdav1d()) {
    ASSERT_TRUE(av1) << av1.error().message;
  } else {
    ASSERT_FALSE(av1);
    EXPECT_THAT(av1.error().message, HasSubstr("libdav1d"));
  }
}

}  // namespace
}  // namespace vdec::codecs
