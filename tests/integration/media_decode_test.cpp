// SPDX-License-Identifier: MIT
// The harness as virtio-media guest (--protocol media) against `vdec-device --protocol media`:
// generated clips bit-exact with USERPTR (shared pages, contiguous and scattered) and DMABUF
// (virtio objects) buffers, a mid-stream resolution change through LAST + SOURCE_CHANGE, and
// decoding in place (0 bytes copied for I420, as virtio-video), and AV1, which only virtio-media
// offers.
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/clips/clip_factory.h"
#include "tests/integration/daemon_process.h"
#include "tests/test_paths.h"

namespace vdec::testing {
namespace {

const std::vector<std::string> kMediaDevice = {"--protocol", "media"};

struct MediaCase {
  const char* clip;          // a standardClips() name
  const char* memory;        // contig | sg | object
  const char* outputFormat;  // nv12 | i420 | yv12
  const char* outputBuffers = "4";
};

std::string caseName(const ::testing::TestParamInfo<MediaCase>& info) {
  const MediaCase& c = info.param;
  return std::string(c.clip) + "_" + c.memory + "_" + c.outputFormat + "_buffers" +
         c.outputBuffers;
}

#define VDEC_GENERATE_OR_SKIP(clip, name)                                          \
  if (!ClipFactory::unavailableReason(standardClip(name).codec).empty())           \
    GTEST_SKIP() << ClipFactory::unavailableReason(standardClip(name).codec);      \
  auto clip = ClipFactory().generate(standardClip(name));                          \
  ASSERT_TRUE(clip.has_value()) << clip.error().message

// The `name value` lines of --stats.
std::map<std::string, uint64_t> parseStats(const std::string& output) {
  std::map<std::string, uint64_t> stats;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    for (const char* key : {"frames", "bytes_copied_per_frame", "direct_frames", "bounce_frames",
                            "error_frames"}) {
      const std::string prefix = std::string(key) + " ";
      if (line.rfind(prefix, 0) == 0) stats[key] = std::stoull(line.substr(prefix.size()));
    }
  }
  return stats;
}

class MediaClipTest : public ::testing::TestWithParam<MediaCase> {};

TEST_P(MediaClipTest, EveryFrameMatchesHostFfmpeg) {
  const MediaCase& param = GetParam();
  VDEC_GENERATE_OR_SKIP(clip, param.clip);
  DaemonProcess daemon(kMediaDevice);
  TempDir out;
  auto result = runHarness(daemon.socketPath(),
                           {"--protocol", "media", "decode", clip->path, "--memory", param.memory,
                            "--output-format", param.outputFormat, "--output-buffers",
                            param.outputBuffers, "--frames-md5", out.file("frames.md5")});
  const std::string context = standardClip(param.clip).note + " (" + clip->path + ")\n";
  ASSERT_EQ(result.exitCode, 0) << context << result.output;
  EXPECT_EQ(readLines(out.file("frames.md5")), clip->frameMd5s) << context << result.output;
  EXPECT_NE(result.output.find("decoded " + std::to_string(clip->frameMd5s.size()) + " frames"),
            std::string::npos)
      << result.output;
  EXPECT_TRUE(daemon.running());
}

INSTANTIATE_TEST_SUITE_P(
    Clips, MediaClipTest,
    ::testing::Values(
        MediaCase{"h264_high_bpyramid_176x144", "sg", "nv12"},
        MediaCase{"h264_baseline_66x34", "contig", "i420", "24"},
        MediaCase{"h264_high_bpyramid_176x144", "object", "yv12", "24"},
        MediaCase{"hevc_bframes_176x144", "object", "i420"},
        // Crops from the left and top (G_SELECTION's rectangle), several slices per picture.
        MediaCase{"h264_crop_left_top_176x144", "sg", "nv12", "24"},
        MediaCase{"hevc_crop_left_top_176x144", "contig", "i420"},
        MediaCase{"vp8_66x34_altref", "contig", "nv12"},
        MediaCase{"vp9_66x34_altref", "sg", "yv12", "24"},
        // Mid-stream resolution change: LAST buffer + SOURCE_CHANGE, STREAMOFF(CAPTURE),
        // REQBUFS(0), G_FMT, REQBUFS(n), QBUF, STREAMON.
        MediaCase{"h264_resolution_change_96x64_to_66x34", "sg", "nv12"},
        MediaCase{"h264_resolution_change_96x64_to_66x34", "object", "i420", "24"},
        // AV1 ('AV01', one temporal unit per OUTPUT buffer; libdav1d, so every picture bounces).
        MediaCase{"av1_aom_66x34", "sg", "nv12"},
        MediaCase{"av1_svt_320x180", "object", "i420", "24"},
        MediaCase{"av1_resolution_change_96x64_to_66x34", "contig", "yv12"}),
    caseName);

TEST(MediaResolutionChangeTest, ReportsTheSecondCaptureSetup) {
  VDEC_GENERATE_OR_SKIP(clip, "h264_resolution_change_96x64_to_66x34");
  DaemonProcess daemon(kMediaDevice);
  auto result = runHarness(daemon.socketPath(), {"--protocol", "media", "decode", clip->path,
                                                 "--memory", "contig"});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  EXPECT_NE(result.output.find("2 resolution changes"), std::string::npos) << result.output;
}

// Both notification schemes of the split ring: the other tests negotiate EVENT_IDX (the default,
// as the Linux virtio ring does); this one decodes without it.
TEST(MediaEventIdxTest, DecodesBitExactWithoutEventIdx) {
  VDEC_GENERATE_OR_SKIP(clip, "h264_high_bpyramid_176x144");
  DaemonProcess daemon(kMediaDevice);
  TempDir out;
  auto result = runHarness(daemon.socketPath(),
                           {"--protocol", "media", "--no-event-idx", "decode", clip->path,
                            "--memory", "sg", "--frames-md5", out.file("frames.md5")});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  EXPECT_EQ(readLines(out.file("frames.md5")), clip->frameMd5s) << result.output;
}

// Enough DMABUF / USERPTR buffers: every I420 frame is decoded in place (0 bytes copied), as
// virtio-video does with the same buffers.
TEST(MediaZeroCopyTest, I420DecodesInPlaceWithEnoughBuffers) {
  VDEC_GENERATE_OR_SKIP(clip, "h264_high_bpyramid_176x144");
  for (const char* memory : {"object", "contig", "sg"}) {
    SCOPED_TRACE(memory);
    DaemonProcess daemon(kMediaDevice);
    TempDir out;
    auto result = runHarness(daemon.socketPath(),
                             {"--protocol", "media", "decode", clip->path, "--memory", memory,
                              "--output-format", "i420", "--output-buffers", "0", "--stats",
                              "--frames-md5", out.file("frames.md5")});
    ASSERT_EQ(result.exitCode, 0) << result.output;
    EXPECT_EQ(readLines(out.file("frames.md5")), clip->frameMd5s);
    auto stats = parseStats(result.output);
    EXPECT_EQ(stats["frames"], clip->frameMd5s.size()) << result.output;
    EXPECT_EQ(stats["bytes_copied_per_frame"], 0u) << result.output;
    EXPECT_EQ(stats["bounce_frames"], 0u) << result.output;
    EXPECT_EQ(stats["direct_frames"], stats["frames"]) << result.output;
  }
}

}  // namespace
}  // namespace vdec::testing
