// SPDX-License-Identifier: MIT
// AV1 through the FFmpeg backend's session (libdav1d): clips made by the host's ffmpeg
// (libaom-av1, libsvtav1) decode bit-exactly, one temporal unit per input buffer, always through
// bounce copies; damage, garbage and 10-bit streams neither crash nor hang.
#include <algorithm>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

extern "C" {
#include <libavutil/log.h>
}

#include "codecs/ffmpeg_format.h"
#include "tests/clips/clip_factory.h"
#include "tests/codecs/session_driver.h"
#include "tests/codecs/stream_files.h"

namespace vdec::codecs::testing {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using vdec::testing::ClipFactory;
using vdec::testing::ClipSpec;
using vdec::testing::GeneratedClip;

class QuietLibav : public ::testing::Environment {
 public:
  void SetUp() override { av_log_set_level(AV_LOG_FATAL); }
};
[[maybe_unused]] ::testing::Environment* const kQuietLibav =
    ::testing::AddGlobalTestEnvironment(new QuietLibav);

// Skips the test with the reason when libavcodec has no libdav1d or the host ffmpeg cannot make
// AV1 clips.
#define VDEC_SKIP_WITHOUT_AV1()                                                  \
  if (findSoftwareDecoder(AV_CODEC_ID_AV1) == nullptr)                           \
    GTEST_SKIP() << missingDecoderReason(AV_CODEC_ID_AV1);                       \
  if (!ClipFactory::unavailableReason("av1").empty())                            \
    GTEST_SKIP() << ClipFactory::unavailableReason("av1")

struct Av1Clip {
  GeneratedClip generated;
  std::vector<std::vector<uint8_t>> units;  // one IVF frame = one temporal unit each
};

Av1Clip makeClip(const ClipSpec& spec) {
  Av1Clip clip;
  auto generated = ClipFactory().generate(spec);
  if (!generated) {
    ADD_FAILURE() << generated.error().message;
    return clip;
  }
  clip.generated = *generated;
  clip.units = ivfFrames(readFile(generated->path));
  return clip;
}

std::vector<std::string> md5sOf(const std::vector<DecodedPicture>& pictures) {
  std::vector<std::string> md5s;
  for (const DecodedPicture& picture : pictures) md5s.push_back(picture.md5);
  return md5s;
}

std::vector<uint64_t> timestampsFor(size_t count) {
  std::vector<uint64_t> timestamps;
  for (size_t i = 0; i < count; ++i) timestamps.push_back(0xa000'0000'0000'0000 + 40'000 * i);
  return timestamps;
}

void queueTargets(SessionDriver& driver, uint32_t first, int count) {
  for (int i = 0; i < count; ++i) driver.queueTarget(first + static_cast<uint32_t>(i));
}

// Decodes every unit with its timestamp, flushes, waits for FlushDone.
void decodeAndFlush(SessionDriver& driver, const std::vector<std::vector<uint8_t>>& units,
                    const std::vector<uint64_t>& timestamps = {}) {
  driver.decodeAll(units, 1, timestamps);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
}

struct Av1Case {
  const char* clip;  // a standardClips() name
  buffers::PixelFormat format;
  uint32_t width;
  uint32_t height;
};

class Av1ClipTest : public ::testing::TestWithParam<Av1Case> {};

TEST_P(Av1ClipTest, EveryFrameMatchesHostFfmpegThroughBounceCopies) {
  VDEC_SKIP_WITHOUT_AV1();
  const Av1Case& param = GetParam();
  const Av1Clip clip = makeClip(vdec::testing::standardClip(param.clip));
  ASSERT_FALSE(clip.units.empty());
  // Every temporal unit shows exactly one frame (a new one or show_existing_frame).
  ASSERT_EQ(clip.units.size(), clip.generated.frameMd5s.size());
  SessionDriver driver(CodedFormat::kAv1, {.format = param.format});
  queueTargets(driver, 1, 4);
  const std::vector<uint64_t> timestamps = timestampsFor(clip.units.size());
  decodeAndFlush(driver, clip.units, timestamps);

  EXPECT_THAT(md5sOf(driver.pictures), ElementsAreArray(clip.generated.frameMd5s));
  std::vector<uint64_t> received;
  for (const DecodedPicture& picture : driver.pictures) {
    received.push_back(picture.timestamp);
    EXPECT_FALSE(picture.error);
    // libdav1d never calls get_buffer2: pictures are copied, and stats must say so.
    EXPECT_EQ(picture.path, OutputPath::kBounce);
  }
  EXPECT_THAT(received, ElementsAreArray(timestamps));  // output order is input order
  ASSERT_EQ(driver.formats.size(), 1u);
  EXPECT_EQ(driver.formats[0].visible, (buffers::Rect{0, 0, param.width, param.height}));
  EXPECT_GE(driver.formats[0].minBuffers, 8u);  // AV1's eight reference slots
  EXPECT_EQ(driver.inputsDone.size(), clip.units.size());
  EXPECT_EQ(driver.eosResources.size(), 1u);
  EXPECT_THAT(driver.errors, IsEmpty());
}

std::string av1CaseName(const ::testing::TestParamInfo<Av1Case>& info) {
  return std::string(info.param.clip) + "_" +
         std::string(buffers::pixelFormatName(info.param.format));
}

INSTANTIATE_TEST_SUITE_P(
    Clips, Av1ClipTest,
    ::testing::Values(Av1Case{"av1_aom_66x34", buffers::PixelFormat::kI420, 66, 34},
                      Av1Case{"av1_aom_66x34", buffers::PixelFormat::kNv12, 66, 34},
                      Av1Case{"av1_svt_320x180", buffers::PixelFormat::kNv12, 320, 180},
                      Av1Case{"av1_svt_320x180", buffers::PixelFormat::kYv12, 320, 180}),
    av1CaseName);

// A stall mid-stream: the pictures libdav1d holds back come out by an idle flush (a drain), and
// decoding goes on bit-exactly from the replay of the units since the key frame.
TEST(Av1SessionTest, StallMidStreamKeepsEveryFrameExact) {
  VDEC_SKIP_WITHOUT_AV1();
  const Av1Clip clip = makeClip(vdec::testing::standardClip("av1_svt_320x180"));
  ASSERT_EQ(clip.units.size(), clip.generated.frameMd5s.size());
  SessionDriver driver(CodedFormat::kAv1, {.threads = 4});
  queueTargets(driver, 1, 4);
  const size_t half = clip.units.size() / 2;
  driver.decodeAll({clip.units.begin(), clip.units.begin() + half}, 1);
  ASSERT_TRUE(driver.waitFor([&] { return driver.pictures.size() == half; }));
  driver.decodeAll({clip.units.begin() + half, clip.units.end()}, 1 + half);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  EXPECT_THAT(md5sOf(driver.pictures), ElementsAreArray(clip.generated.frameMd5s));
  EXPECT_EQ(driver.inputsDone.size(), clip.units.size());
}

TEST(Av1SessionTest, ResolutionChangeAtANewSequenceHeader) {
  VDEC_SKIP_WITHOUT_AV1();
  const Av1Clip clip =
      makeClip(vdec::testing::standardClip("av1_resolution_change_96x64_to_66x34"));
  ASSERT_EQ(clip.units.size(), 16u);
  SessionDriver driver(CodedFormat::kAv1, {.format = buffers::PixelFormat::kNv12});
  queueTargets(driver, 1, 4);
  decodeAndFlush(driver, clip.units);
  EXPECT_THAT(md5sOf(driver.pictures), ElementsAreArray(clip.generated.frameMd5s));
  ASSERT_EQ(driver.formats.size(), 2u);
  EXPECT_EQ(driver.formats[0].visible, (buffers::Rect{0, 0, 96, 64}));
  EXPECT_EQ(driver.formats[1].visible, (buffers::Rect{0, 0, 66, 34}));
  EXPECT_THAT(driver.errors, IsEmpty());
}

// Damage inside the tile data of every third unit after the first: pictures come out wrong,
// flagged, or not at all, but every input is consumed, the flush completes and decoding goes on.
TEST(Av1SessionTest, DamagedStreamKeepsDecoding) {
  VDEC_SKIP_WITHOUT_AV1();
  Av1Clip clip = makeClip(vdec::testing::standardClip("av1_svt_320x180"));
  ASSERT_FALSE(clip.units.empty());
  size_t damagedUnits = 0;
  for (size_t i = 1; i < clip.units.size(); i += 3) {
    std::vector<uint8_t>& unit = clip.units[i];
    if (unit.size() < 64) continue;  // show_existing_frame units have no tile data
    for (size_t at = unit.size() / 2; at < unit.size(); at += 7) unit[at] ^= 0xa5;
    ++damagedUnits;
  }
  ASSERT_GT(damagedUnits, 0u);
  SessionDriver driver(CodedFormat::kAv1, {});
  queueTargets(driver, 1, 4);
  decodeAndFlush(driver, clip.units);
  EXPECT_EQ(driver.inputsDone.size(), clip.units.size());
  EXPECT_EQ(driver.eosResources.size(), 1u);
  const std::vector<std::string> md5s = md5sOf(driver.pictures);
  EXPECT_NE(md5s, clip.generated.frameMd5s);
  const auto flagged = std::count_if(driver.pictures.begin(), driver.pictures.end(),
                                     [](const DecodedPicture& picture) { return picture.error; });
  // Units libdav1d refuses give no picture; a picture decoded while it logged an error is
  // flagged (DecodeErrorLog), the guest's ERR flag.
  EXPECT_LT(driver.pictures.size(), clip.units.size());
  EXPECT_GT(flagged, 0);
  EXPECT_THAT(driver.errors, IsEmpty());
}

// A key frame unit cut in half (its OBU sizes overrun it) is never sent: sent, libdav1d 1.0
// refuses it and then every later unit, the intact key frames too. The units after it are
// consumed; the intact copy that follows decodes exactly.
TEST(Av1SessionTest, TruncatedUnitIsRefusedAndDecodingGoesOn) {
  VDEC_SKIP_WITHOUT_AV1();
  Av1Clip clip = makeClip(vdec::testing::standardClip("av1_aom_66x34"));
  ASSERT_GE(clip.units.size(), 2u);
  std::vector<std::vector<uint8_t>> units = clip.units;
  units[0].resize(units[0].size() / 2);  // the key frame, cut in half
  units.insert(units.end(), clip.units.begin(), clip.units.end());  // then the intact clip
  SessionDriver driver(CodedFormat::kAv1, {});
  queueTargets(driver, 1, 4);
  decodeAndFlush(driver, units);
  EXPECT_EQ(driver.inputsDone.size(), units.size());
  // The intact copy decodes exactly; the inter frames before it are refused (no references).
  const std::vector<std::string> md5s = md5sOf(driver.pictures);
  ASSERT_GE(md5s.size(), clip.generated.frameMd5s.size());
  EXPECT_THAT(std::vector<std::string>(md5s.end() - clip.generated.frameMd5s.size(), md5s.end()),
              ElementsAreArray(clip.generated.frameMd5s));
}

TEST(Av1SessionTest, RandomBytesNeitherCrashNorHang) {
  if (findSoftwareDecoder(AV_CODEC_ID_AV1) == nullptr) {
    GTEST_SKIP() << missingDecoderReason(AV_CODEC_ID_AV1);
  }
  std::mt19937 random(4321);
  std::vector<std::vector<uint8_t>> units;
  for (int i = 0; i < 50; ++i) {
    std::vector<uint8_t> unit(1 + random() % 4000);
    for (uint8_t& byte : unit) byte = static_cast<uint8_t>(random());
    // Half of them look like OBUs: a temporal delimiter, then a frame OBU with a size field.
    if (i % 2 == 0 && unit.size() > 4) {
      unit[0] = 0x12;
      unit[1] = 0x00;
      unit[2] = 0x32;
    }
    units.push_back(std::move(unit));
  }
  SessionDriver driver(CodedFormat::kAv1, {});
  queueTargets(driver, 1, 4);
  decodeAndFlush(driver, units);
  EXPECT_EQ(driver.inputsDone.size(), units.size());
  for (const DecodedPicture& picture : driver.pictures) EXPECT_TRUE(picture.error);
}

// 10-bit 4:2:0 (AV1 Main) decodes in libdav1d but is no format we output: one stream error that
// names it, as for H.264 4:2:2; input is still consumed.
TEST(Av1SessionTest, TenBitStreamEndsWithStreamError) {
  VDEC_SKIP_WITHOUT_AV1();
  const ClipSpec spec{"av1_10bit_64x48",
                      "av1",
                      {{64, 48, 3, {"-c:v", "libaom-av1", "-cpu-used", "8", "-pix_fmt",
                                    "yuv420p10le"}}},
                      "10-bit 4:2:0"};
  const Av1Clip clip = makeClip(spec);
  ASSERT_EQ(clip.units.size(), 3u);
  SessionDriver driver(CodedFormat::kAv1, {});
  queueTargets(driver, 1, 4);
  decodeAndFlush(driver, clip.units);
  ASSERT_EQ(driver.errors.size(), 1u);
  EXPECT_THAT(driver.errors[0], HasSubstr("yuv420p10"));
  EXPECT_THAT(driver.pictures, IsEmpty());
  EXPECT_THAT(driver.formats, IsEmpty());
  EXPECT_EQ(driver.inputsDone.size(), clip.units.size());
}

}  // namespace
}  // namespace vdec::codecs::testing
