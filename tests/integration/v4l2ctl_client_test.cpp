// SPDX-License-Identifier: MIT
// The harness's v4l2-ctl client (--client v4l2-ctl: v4l2-ctl 1.22 on the ARCVM guest driver,
// its STOP dropped while CAPTURE is not streaming, leaving 0.5 s after the last activity) against
// the real daemon. Every test expects every frame, bit-exact: a hardware-like device returns an
// input buffer only once the decoder consumed it, pauses after announcing the format until the
// guest set CAPTURE up, and lets held pictures out after a short idle period without a drain.
// The frame count does not depend on timing: the device's idle flush (~150 ms) is well inside
// the client's 0.5 s.
#include <algorithm>
#include <regex>

#include <gtest/gtest.h>

#include "tests/clips/clip_factory.h"
#include "tests/integration/daemon_process.h"
#include "tests/test_paths.h"

namespace vdec::testing {
namespace {

// Makes (or takes from the cache) a clip; skips with one line when the host cannot make it.
#define VDEC_GENERATE_OR_SKIP(clip, spec)                                                          \
  if (!ClipFactory::unavailableReason().empty()) GTEST_SKIP() << ClipFactory::unavailableReason(); \
  auto clip = ClipFactory().generate(spec);                                                        \
  ASSERT_TRUE(clip.has_value()) << clip.error().message

// Decodes `input` with the v4l2-ctl client; returns the harness's output, per-frame md5s in
// `md5s`.
CommandResult decodeAsV4l2Ctl(const std::string& input, std::vector<std::string> extra,
                              std::vector<std::string>& md5s) {
  DaemonProcess daemon;
  TempDir out;
  std::vector<std::string> args{"decode",   input,          "--client",
                                "v4l2-ctl", "--frames-md5", out.file("frames.md5")};
  args.insert(args.end(), extra.begin(), extra.end());
  CommandResult result = runHarness(daemon.socketPath(), args);
  md5s = readLines(out.file("frames.md5"));
  EXPECT_TRUE(daemon.running()) << "the daemon died";
  return result;
}

// --- A long clip: steady state, refills, and the whole file in one buffer ---

struct LongClipCase {
  const char* name;
  std::vector<std::string> args;
};

class V4l2CtlLongClipTest : public ::testing::TestWithParam<LongClipCase> {};

// samples/data/testsrc2-320x180.h264: 75 frames, B-frames, 93 KB.
TEST_P(V4l2CtlLongClipTest, EveryFrameBitExact) {
  const std::string input = samplesDir() + "/data/testsrc2-320x180.h264";
  std::vector<std::string> md5s;
  auto result = decodeAsV4l2Ctl(input, GetParam().args, md5s);
  ASSERT_EQ(result.exitCode, 0) << result.output;
  EXPECT_EQ(md5s, readLines(input + ".md5")) << result.output;
  EXPECT_NE(result.output.find("v4l2-ctl client: 75 frames written"), std::string::npos)
      << result.output;
}

INSTANTIATE_TEST_SUITE_P(
    Sizeimage, V4l2CtlLongClipTest,
    ::testing::Values(
        // The device's sizeimage (1 MiB): the file fits in the first buffer, STOP is dropped.
        LongClipCase{"device_sizeimage", {}},
        // 4 KiB buffers: 23 chunks cut anywhere, each buffer refilled when the device returns it.
        LongClipCase{"sizeimage_4096", {"--chunk-bytes", "4096"}},
        LongClipCase{"sizeimage_8192_sg_i420",
                     {"--chunk-bytes", "8192", "--memory", "sg", "--output-format", "i420"}}),
    [](const ::testing::TestParamInfo<LongClipCase>& info) { return info.param.name; });

// --- Clips that fit in the client's first OUTPUT buffers: STOP always dropped ---

ClipSpec tinyClip(const std::string& name, const std::string& codec, unsigned frames,
                  std::vector<std::string> encoder) {
  return {name,
          codec,
          {{176, 144, frames, std::move(encoder)}},
          std::to_string(frames) + "-frame " + codec + " clip"};
}

const std::vector<ClipSpec>& tinyClips() {
  static const std::vector<ClipSpec> clips{
      tinyClip("v4l2ctl_h264_1_frame", "h264", 1, {"-c:v", "libx264"}),
      tinyClip("v4l2ctl_h264_2_frames", "h264", 2, {"-c:v", "libx264"}),
      tinyClip("v4l2ctl_h264_3_frames_bframes", "h264", 3,
               {"-c:v", "libx264", "-bf", "2", "-x264-params", "b-adapt=0"}),
      tinyClip("v4l2ctl_hevc_1_frame", "hevc", 1,
               {"-c:v", "libx265", "-x265-params", "log-level=error"}),
      tinyClip("v4l2ctl_vp8_1_frame", "vp8", 1, {"-c:v", "libvpx"}),
      tinyClip("v4l2ctl_vp9_1_frame", "vp9", 1,
               {"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"}),
  };
  return clips;
}

class V4l2CtlTinyClipTest : public ::testing::TestWithParam<size_t> {};

TEST_P(V4l2CtlTinyClipTest, EveryFrameArrivesThoughTheStopIsDropped) {
  const ClipSpec& spec = tinyClips()[GetParam()];
  VDEC_GENERATE_OR_SKIP(clip, spec);
  std::vector<std::string> md5s;
  auto result = decodeAsV4l2Ctl(clip->path, {}, md5s);
  ASSERT_EQ(result.exitCode, 0) << spec.note << "\n" << result.output;
  // The whole clip goes out in the first buffer, so the STOP comes before CAPTURE streams.
  EXPECT_NE(result.output.find("STOP dropped"), std::string::npos) << result.output;
  EXPECT_EQ(md5s, clip->frameMd5s) << spec.note << " (" << clip->path << ")\n" << result.output;
}

INSTANTIATE_TEST_SUITE_P(Clips, V4l2CtlTinyClipTest, ::testing::Range<size_t>(0, 6),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return tinyClips()[info.param].name;
                         });

// --- The generated-clip suite (every codec, reordering, field coding, hidden frames) ---

class V4l2CtlGeneratedClipTest : public ::testing::TestWithParam<std::string> {};

TEST_P(V4l2CtlGeneratedClipTest, EveryFrameMatchesHostFfmpeg) {
  const ClipSpec& spec = standardClip(GetParam());
  VDEC_GENERATE_OR_SKIP(clip, spec);
  std::vector<std::string> md5s;
  auto result = decodeAsV4l2Ctl(clip->path, {"--memory", "sg"}, md5s);
  ASSERT_EQ(result.exitCode, 0) << spec.note << "\n" << result.output;
  EXPECT_EQ(md5s, clip->frameMd5s) << spec.note << " (" << clip->path << ")\n" << result.output;
}

INSTANTIATE_TEST_SUITE_P(
    Clips, V4l2CtlGeneratedClipTest,
    ::testing::Values("h264_baseline_66x34", "h264_tiny_16x16", "h264_high_bpyramid_176x144",
                      "h264_interlaced_tff_128x96",
                      "hevc_main_66x34", "hevc_bframes_176x144", "vp8_66x34_altref",
                      "vp9_66x34_altref", "vp9_tiny_16x16"),
    [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// A mid-stream resolution change: v4l2-ctl reallocates CAPTURE only after a LAST buffer, and the
// ARCVM guest driver never produces one for a resolution change (guest-driver.md §8), so the
// client gets the pictures before the change, bit-exact, and no more. (The whole manifest in this
// mode, with the same rule for its two resolution-change vectors: host_ffmpeg_compare_test.cpp.)
TEST(V4l2CtlResolutionChangeTest, PicturesBeforeTheChangeArriveBitExact) {
  const ClipSpec& spec = standardClip("h264_resolution_change_96x64_to_66x34");
  VDEC_GENERATE_OR_SKIP(clip, spec);
  std::vector<std::string> md5s;
  auto result = decodeAsV4l2Ctl(clip->path, {"--memory", "sg"}, md5s);
  ASSERT_EQ(result.exitCode, 0) << spec.note << "\n" << result.output;
  ASSERT_FALSE(md5s.empty()) << result.output;
  ASSERT_LT(md5s.size(), clip->frameMd5s.size()) << result.output;
  EXPECT_TRUE(std::equal(md5s.begin(), md5s.end(), clip->frameMd5s.begin()))
      << spec.note << "\n" << result.output;
}

}  // namespace
}  // namespace vdec::testing
