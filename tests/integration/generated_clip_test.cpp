// SPDX-License-Identifier: MIT
// Clips made at test time (tests/clips/clip_factory.h) through the real daemon and harness,
// compared frame by frame with host ffmpeg decoding the same clip. Needs no conformance data.
#include <gtest/gtest.h>

#include "tests/clips/clip_factory.h"
#include "tests/integration/daemon_process.h"
#include "tests/test_paths.h"

namespace vdec::testing {
namespace {

struct GeneratedCase {
  const char* clip;          // a standardClips() name
  const char* memory;        // contig | sg | object
  const char* outputFormat;  // nv12 | i420 | yv12
  const char* outputBuffers = "4";  // 4 = v4l2-ctl (bounce copies); 24 = decode in place
  const char* chunkBytes = "";      // "" = the harness's default
};

std::string caseName(const ::testing::TestParamInfo<GeneratedCase>& info) {
  const GeneratedCase& c = info.param;
  std::string name = std::string(c.clip) + "_" + c.memory + "_" + c.outputFormat;
  if (std::string(c.outputBuffers) != "4") name += std::string("_buffers") + c.outputBuffers;
  if (*c.chunkBytes != '\0') name += std::string("_chunk") + c.chunkBytes;
  return name;
}

// Makes (or takes from the cache) the clip; skips with one line when the host cannot make it.
#define VDEC_GENERATE_OR_SKIP(clip, name)                                          \
  if (!ClipFactory::unavailableReason(standardClip(name).codec).empty())           \
    GTEST_SKIP() << ClipFactory::unavailableReason(standardClip(name).codec);      \
  auto clip = ClipFactory().generate(standardClip(name));                          \
  ASSERT_TRUE(clip.has_value()) << clip.error().message

class GeneratedClipTest : public ::testing::TestWithParam<GeneratedCase> {};

TEST_P(GeneratedClipTest, EveryFrameMatchesHostFfmpeg) {
  const GeneratedCase& param = GetParam();
  VDEC_GENERATE_OR_SKIP(clip, param.clip);
  DaemonProcess daemon;
  TempDir out;
  std::vector<std::string> args{"decode",          clip->path,          "--memory",
                                param.memory,      "--output-format",   param.outputFormat,
                                "--output-buffers", param.outputBuffers, "--frames-md5",
                                out.file("frames.md5")};
  if (*param.chunkBytes != '\0') args.insert(args.end(), {"--chunk-bytes", param.chunkBytes});
  auto result = runHarness(daemon.socketPath(), args);
  const std::string context = standardClip(param.clip).note + " (" + clip->path + ")\n";
  ASSERT_EQ(result.exitCode, 0) << context << result.output;
  EXPECT_EQ(readLines(out.file("frames.md5")), clip->frameMd5s) << context << result.output;
  EXPECT_TRUE(daemon.running());
}

INSTANTIATE_TEST_SUITE_P(
    Clips, GeneratedClipTest,
    ::testing::Values(
        // Every clip once, scattered guest pages, NV12 (the guest driver's format).
        GeneratedCase{"h264_baseline_66x34", "sg", "nv12"},
        GeneratedCase{"h264_tiny_16x16", "sg", "nv12"},
        GeneratedCase{"h264_high_bpyramid_176x144", "sg", "nv12"},
        GeneratedCase{"h264_interlaced_tff_128x96", "sg", "nv12"},
        GeneratedCase{"h264_resolution_change_96x64_to_66x34", "sg", "nv12"},
        GeneratedCase{"h264_crop_left_top_176x144", "sg", "nv12"},
        GeneratedCase{"hevc_main_66x34", "sg", "nv12"},
        GeneratedCase{"hevc_crop_left_top_176x144", "sg", "nv12"},
        GeneratedCase{"hevc_bframes_176x144", "sg", "nv12"},
        GeneratedCase{"vp8_66x34_altref", "sg", "nv12"},
        GeneratedCase{"vp9_66x34_altref", "sg", "nv12"},
        GeneratedCase{"vp9_tiny_16x16", "sg", "nv12"},
        // The other formats and memories, and buffers enough to decode in place.
        GeneratedCase{"h264_baseline_66x34", "contig", "i420", "24"},
        GeneratedCase{"h264_high_bpyramid_176x144", "object", "yv12", "24"},
        GeneratedCase{"h264_high_bpyramid_176x144", "contig", "nv12", "4", "500"},
        GeneratedCase{"h264_resolution_change_96x64_to_66x34", "object", "i420", "24"},
        GeneratedCase{"h264_crop_left_top_176x144", "contig", "i420", "24"},
        GeneratedCase{"hevc_main_66x34", "contig", "yv12"},
        GeneratedCase{"hevc_crop_left_top_176x144", "object", "i420", "24"},
        GeneratedCase{"hevc_bframes_176x144", "object", "i420", "24"},
        GeneratedCase{"vp8_66x34_altref", "contig", "i420", "24"},
        GeneratedCase{"vp9_66x34_altref", "object", "yv12", "24"},
        GeneratedCase{"vp9_tiny_16x16", "contig", "i420"}),
    caseName);

// The daemon's FFmpeg backend decodes AV1 (libdav1d), but virtio-video has no AV1 format: its
// QUERY_CAPABILITY lists the four codecs it always did, and the av1 clips are not decoded here.
TEST(GeneratedClipVirtioVideoTest, CapabilitiesNeverListAv1) {
  DaemonProcess daemon;
  const auto result = runHarness(daemon.socketPath(), {"query"});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  size_t masks = 0;
  for (size_t at = 0; (at = result.output.find("mask 0xf [H264 HEVC VP8 VP9]", at)) !=
                      std::string::npos;
       ++at) {
    ++masks;
  }
  EXPECT_EQ(masks, 3u) << result.output;  // each of the three raw formats, from four codecs
  EXPECT_EQ(result.output.find("AV1"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("VP9      mask 0x7"), std::string::npos) << result.output;
}

// Every standard clip can be made and its reference has one md5 per encoded frame.
TEST(ClipFactoryTest, MakesEveryStandardClipWithAReference) {
  for (const ClipSpec& spec : standardClips()) {
    VDEC_GENERATE_OR_SKIP(clip, spec.name);
    size_t frames = 0;
    for (const ClipSegment& segment : spec.segments) frames += segment.frames;
    EXPECT_EQ(clip->frameMd5s.size(), frames) << spec.name;
    EXPECT_LE(frames, 30u) << spec.name << ": keep generated clips small";
  }
}

}  // namespace
}  // namespace vdec::testing
