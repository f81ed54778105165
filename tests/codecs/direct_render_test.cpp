// SPDX-License-Identifier: MIT
// Direct rendering: libavcodec decodes into the lent resources; the reference rule, the
// starvation rule, clearOutput() and the bytes each path copies.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "codecs/direct_layout.h"
#include "codecs/ffmpeg_format.h"
#include "tests/codecs/session_driver.h"
#include "tests/codecs/stream_files.h"
#include "tests/test_paths.h"

namespace vdec::codecs::testing {
namespace {

constexpr char kH264[] = "h264/chromium-test-25fps/test-25fps.h264";
constexpr char kVp9[] = "vp9/chromium-test-25fps/test-25fps.vp9";
constexpr uint64_t kFrameBytes = 320 * 240 * 3 / 2;
constexpr uint64_t kChromaBytes = 320 * 240 / 2;

struct Clip {
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<std::string> md5s;
};

Clip loadClip(const std::string& relative, size_t chunkSize = 4096) {
  const std::string path = vdec::testing::conformanceFile(relative);
  const std::vector<uint8_t> bytes = readFile(path);
  EXPECT_FALSE(bytes.empty()) << relative;
  Clip clip;
  clip.buffers = relative.ends_with(".vp9") ? ivfFrames(bytes) : chunks(bytes, chunkSize);
  clip.md5s = readMd5Checksums(path + ".json");
  return clip;
}

std::vector<std::string> md5sOf(const std::vector<DecodedPicture>& pictures) {
  std::vector<std::string> md5s;
  for (const DecodedPicture& picture : pictures) md5s.push_back(picture.md5);
  return md5s;
}

// Decodes the whole clip with `targets` resources, flushes, and checks every frame's md5.
void decodeClip(SessionDriver& driver, const Clip& clip, uint32_t targets) {
  for (uint32_t i = 1; i <= targets; ++i) driver.queueTarget(i);
  driver.decodeAll(clip.buffers, 1);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  EXPECT_THAT(driver.errors, ::testing::IsEmpty());
  EXPECT_EQ(md5sOf(driver.pictures), clip.md5s);
}

size_t countPath(const SessionDriver& driver, OutputPath path) {
  return std::count_if(driver.pictures.begin(), driver.pictures.end(),
                       [&](const DecodedPicture& picture) { return picture.path == path; });
}

struct PathCase {
  const char* clip;
  buffers::PixelFormat format;
  bool contiguous;
  bool forceBounce;
  OutputPath path;
  uint64_t bytesPerPicture;
};

class DirectRenderTest : public ::testing::TestWithParam<PathCase> {};

// e.g. h264_i420_contig_direct: codec, format, memory, expected path (+ _forced with bounce).
std::string pathCaseName(const ::testing::TestParamInfo<PathCase>& info) {
  const PathCase& c = info.param;
  std::string name = std::string(c.clip).ends_with(".vp9") ? "vp9" : "h264";
  name += "_" + std::string(buffers::pixelFormatName(c.format)) + "_" +
          (c.contiguous ? "contig" : "scattered") + "_" + buffers::outputPathName(c.path);
  if (c.forceBounce) name += "_forced";
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

// Every picture takes the expected path and copies exactly what that path says.
TEST_P(DirectRenderTest, EveryPictureIsBitExactAndCopiesWhatItsPathSays) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  const PathCase& param = GetParam();
  SessionDriver::Options options;
  options.format = param.format;
  options.contiguous = param.contiguous;
  options.forceBounce = param.forceBounce;
  SessionDriver driver(std::string(param.clip).ends_with(".vp9") ? CodedFormat::kVp9
                                                                  : CodedFormat::kH264,
                       options);
  decodeClip(driver, loadClip(param.clip), 16);
  ASSERT_EQ(driver.pictures.size(), 250u);
  for (const DecodedPicture& picture : driver.pictures) {
    EXPECT_EQ(picture.path, param.path) << picture.timestamp;
    EXPECT_EQ(picture.bytesCopied, param.bytesPerPicture) << picture.timestamp;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Paths, DirectRenderTest,
    ::testing::Values(
        PathCase{kH264, buffers::PixelFormat::kI420, true, false, OutputPath::kDirect, 0},
        PathCase{kH264, buffers::PixelFormat::kYv12, true, false, OutputPath::kDirect, 0},
        PathCase{kH264, buffers::PixelFormat::kNv12, true, false, OutputPath::kDirect,
                 kChromaBytes},
        PathCase{kVp9, buffers::PixelFormat::kI420, true, false, OutputPath::kDirect, 0},
        PathCase{kVp9, buffers::PixelFormat::kNv12, true, false, OutputPath::kDirect,
                 kChromaBytes},
        // No host mapping (scatter writes): always copied.
        PathCase{kH264, buffers::PixelFormat::kI420, false, false, OutputPath::kBounce,
                 kFrameBytes},
        // --copy-mode bounce.
        PathCase{kH264, buffers::PixelFormat::kI420, true, true, OutputPath::kBounce, kFrameBytes},
        PathCase{kVp9, buffers::PixelFormat::kNv12, true, true, OutputPath::kBounce,
                 kFrameBytes}),
    pathCaseName);

// The layout the device announces from a StreamFormat satisfies avcodec_align_dimensions2.
TEST(DirectLayoutTest, AnnouncedLayoutFitsTheDecoder) {
  for (AVCodecID codec : {AV_CODEC_ID_H264, AV_CODEC_ID_VP9, AV_CODEC_ID_VP8, AV_CODEC_ID_HEVC}) {
    for (auto [width, height] : {std::pair{320u, 240u}, {1920u, 1088u}, {176u, 144u}, {33u, 17u}}) {
      const DecoderAlignment alignment = decoderAlignment(codec, AV_PIX_FMT_YUV420P, width, height);
      const uint32_t rows = (height + alignment.heightAlign - 1) / alignment.heightAlign *
                                alignment.heightAlign +
                            alignment.extraRows;
      EXPECT_EQ(rows, std::max(alignment.alignedHeight, height)) << codec << " " << height;
      for (auto format : {buffers::PixelFormat::kI420, buffers::PixelFormat::kYv12,
                          buffers::PixelFormat::kNv12}) {
        auto layout = buffers::computeFrameLayout(format, width, rows, {0, 0, width, height},
                                                  layoutStrideAlign(alignment));
        ASSERT_TRUE(layout.has_value());
        EXPECT_TRUE(layoutFitsDecoder(*layout, alignment)) << codec << " " << width << "x"
                                                           << height;
        // The bare default layout (stride /64, exact height) does not, for H.264.
        auto bare = buffers::computeFrameLayout(format, width, height, {0, 0, width, height});
        if (codec == AV_CODEC_ID_H264) {
          EXPECT_FALSE(layoutFitsDecoder(*bare, alignment));
        }
      }
    }
  }
  // H.264's chroma motion compensation reads two rows below the aligned height.
  const DecoderAlignment h264 = decoderAlignment(AV_CODEC_ID_H264, AV_PIX_FMT_YUV420P, 320, 240);
  EXPECT_EQ(h264.heightAlign, 32u);
  EXPECT_EQ(h264.extraRows, 2u);
  EXPECT_EQ(h264.alignedHeight, 258u);
}

// The reference rule under pressure: exactly the announced minimum of resources, each given
// back the moment its picture was read, so resources that are still references come back to
// the session at once. A reference overwritten by a new picture would break the md5 of every
// later frame that predicts from it.
TEST(DirectRenderReferenceTest, EagerlyRequeuedReferencesAreNeverOverwritten) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  for (const char* clipName : {kH264, kVp9}) {
    SessionDriver probe(std::string(clipName).ends_with(".vp9") ? CodedFormat::kVp9
                                                                : CodedFormat::kH264,
                        {});
    const Clip clip = loadClip(clipName, 1000);
    probe.decodeAll(clip.buffers, 1);
    ASSERT_TRUE(probe.waitFor([&] { return !probe.formats.empty(); })) << clipName;
    const uint32_t minBuffers = probe.formats.front().minBuffers;

    SessionDriver driver(std::string(clipName).ends_with(".vp9") ? CodedFormat::kVp9
                                                                 : CodedFormat::kH264,
                         {});
    decodeClip(driver, clip, minBuffers);
    EXPECT_GT(countPath(driver, OutputPath::kDirect), 0u) << clipName;
    // Pictures that found no free resource went to host frames; none was lost or damaged.
    EXPECT_EQ(driver.pictures.size(), clip.md5s.size()) << clipName;
  }
}

// A resource's mapping (a scatter-gather window: about 1 ms each at 1080p) is asked for when
// libavcodec first takes the resource, not for every lent resource before the first picture:
// two pictures decoded with 16 resources lent map those two, and at most one more (libavcodec
// takes a buffer for every frame it decodes, shown or not: the clip's second packet is a
// superframe with a hidden frame).
TEST(DirectRenderMappingTest, OnlyResourcesTheDecoderTakesAreMapped) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  SessionDriver driver(CodedFormat::kVp9, {});
  const Clip clip = loadClip(kVp9);
  for (uint32_t i = 1; i <= 16; ++i) driver.queueTarget(i);
  const std::vector<std::vector<uint8_t>> firstTwo(clip.buffers.begin(), clip.buffers.begin() + 2);
  driver.decodeAll(firstTwo, 1);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  ASSERT_EQ(driver.pictures.size(), 2u);
  EXPECT_EQ(countPath(driver, OutputPath::kDirect), 2u);
  size_t mapped = 0;
  for (const auto& [id, memory] : driver.memories()) mapped += memory->contiguousCalls() > 0;
  EXPECT_GE(mapped, 2u);
  EXPECT_LE(mapped, 3u);
  for (const DecodedPicture& picture : driver.pictures)
    EXPECT_GT(driver.memories().at(picture.resourceId)->contiguousCalls(), 0u);
}

// Resources the test keeps (never re-queued) while others cycle: the session never hands a
// resource it gave out back to libavcodec before it is queued again.
TEST(DirectRenderReferenceTest, DeliveredResourcesAreNotWrittenUntilQueuedAgain) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  SessionDriver driver(CodedFormat::kH264, {});
  const Clip clip = loadClip(kH264);
  for (uint32_t i = 1; i <= 12; ++i) driver.queueTarget(i);
  driver.setRequeue(false);
  driver.decodeAll(clip.buffers, 1);
  ASSERT_TRUE(driver.waitFor([&] { return driver.pictures.size() >= 3; }));
  // Keep the first three pictures; snapshot them.
  std::vector<std::pair<uint32_t, std::vector<std::byte>>> kept;
  for (size_t i = 0; i < 3; ++i) {
    const uint32_t id = driver.pictures[i].resourceId;
    kept.emplace_back(id, driver.memories().at(id)->copy());
  }
  // Everything else cycles from now on.
  for (size_t i = 3; i < driver.pictures.size(); ++i) {
    driver.queueTarget(driver.pictures[i].resourceId);
  }
  driver.setRequeue(true);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  EXPECT_EQ(md5sOf(driver.pictures), clip.md5s);
  for (const auto& [id, bytes] : kept) {
    EXPECT_EQ(driver.memories().at(id)->copy(), bytes) << "resource " << id << " was written";
  }
}

// Fewer resources than direct rendering needs (testsrc2: 4 reference frames and B-frames):
// the stream bounces, decodes to the end bit-exact and never stalls.
TEST(DirectRenderStarvationTest, FourResourcesForAFourReferenceStreamBounce) {
  const std::vector<uint8_t> bytes = readFile(vdec::testing::samplesDir() +
                                              "/data/testsrc2-320x180.h264");
  ASSERT_FALSE(bytes.empty());
  SessionDriver driver(CodedFormat::kH264, {});
  for (uint32_t i = 1; i <= 4; ++i) driver.queueTarget(i);
  const auto buffers = chunks(bytes, 3000);
  driver.decodeAll(buffers, 1);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }, std::chrono::seconds(30)));
  ASSERT_EQ(driver.pictures.size(), 75u);
  ASSERT_FALSE(driver.formats.empty());
  EXPECT_GT(driver.formats.front().minBuffers, 4u);
  EXPECT_EQ(countPath(driver, OutputPath::kBounce), 75u);
  const std::vector<std::string> expected = [] {
    std::vector<std::string> lines;
    std::ifstream in(vdec::testing::samplesDir() + "/data/testsrc2-320x180.h264.md5");
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines.push_back(line);
    }
    return lines;
  }();
  EXPECT_EQ(md5sOf(driver.pictures), expected);
}

// After clearOutput() returns, no cleared resource is written, even while frame threads were
// decoding into them; the pictures decoded so far are still delivered (copied) into new ones.
TEST(DirectRenderClearTest, ClearedResourcesAreNotWrittenAfterClearOutput) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  SessionDriver::Options options;
  options.threads = 4;
  SessionDriver driver(CodedFormat::kH264, options);
  const Clip clip = loadClip(kH264, 500);
  for (uint32_t i = 1; i <= 16; ++i) driver.queueTarget(i);
  driver.decodeAll(clip.buffers, 1);
  ASSERT_TRUE(driver.waitFor([&] { return driver.pictures.size() >= 40; }));
  const std::vector<uint32_t> cleared = driver.clearOutput();
  std::vector<std::pair<uint32_t, std::vector<std::byte>>> snapshots;
  for (uint32_t id : cleared) snapshots.emplace_back(id, driver.memories().at(id)->copy());
  EXPECT_FALSE(snapshots.empty());
  // New resources; decoding goes on to the end.
  for (uint32_t i = 101; i <= 116; ++i) driver.queueTarget(i);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  for (const auto& [id, bytes] : snapshots) {
    EXPECT_TRUE(driver.memories().at(id)->copy() == bytes) << "resource " << id;
  }
  // Until the clear every picture is exact.
  for (size_t i = 0; i < 40; ++i) EXPECT_EQ(driver.pictures[i].md5, clip.md5s[i]) << i;
}

}  // namespace
}  // namespace vdec::codecs::testing
