// SPDX-License-Identifier: MIT
#include "codecs/av_ptr.h"
#include "codecs/ffmpeg_session.h"

#include <algorithm>
#include <random>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

extern "C" {
#include <libavutil/log.h>
#include <libavutil/opt.h>
}

#include "codecs/ffmpeg_format.h"
#include "tests/codecs/session_driver.h"
#include "tests/codecs/stream_files.h"
#include "tests/test_paths.h"

namespace vdec::codecs::testing {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kH264[] = "h264/chromium-test-25fps/test-25fps.h264";
constexpr char kVp9[] = "vp9/chromium-test-25fps/test-25fps.vp9";
constexpr char kVp8[] = "vp8/chromium-test-25fps/test-25fps.vp8";
constexpr size_t kClipFrames = 250;

// libavcodec reports every damaged frame of the garbage tests on stderr; keep the output readable.
class QuietLibav : public ::testing::Environment {
 public:
  void SetUp() override { av_log_set_level(AV_LOG_FATAL); }
};
[[maybe_unused]] ::testing::Environment* const kQuietLibav =
    ::testing::AddGlobalTestEnvironment(new QuietLibav);

struct Clip {
  std::vector<uint8_t> bytes;
  std::vector<std::string> md5s;
};

Clip loadClip(const std::string& relative) {
  Clip clip{readFile(vdec::testing::conformanceFile(relative)),
            readMd5Checksums(vdec::testing::conformanceFile(relative + ".json"))};
  EXPECT_FALSE(clip.bytes.empty()) << relative;
  EXPECT_EQ(clip.md5s.size(), kClipFrames) << relative;
  return clip;
}

std::vector<std::string> md5sOf(const std::vector<DecodedPicture>& pictures) {
  std::vector<std::string> md5s;
  for (const DecodedPicture& picture : pictures) md5s.push_back(picture.md5);
  return md5s;
}

std::vector<uint32_t> idRange(uint32_t first, size_t count) {
  std::vector<uint32_t> ids(count);
  for (size_t i = 0; i < count; ++i) ids[i] = first + static_cast<uint32_t>(i);
  return ids;
}

void queueTargets(SessionDriver& driver, uint32_t first, int count) {
  for (int i = 0; i < count; ++i) driver.queueTarget(first + static_cast<uint32_t>(i));
}

struct ChunkCase {
  size_t chunkSize;  // 0: the whole file in one buffer
  buffers::PixelFormat format;
  int threads;
  bool contiguous;
};

class H264ChunkTest : public ::testing::TestWithParam<ChunkCase> {};

// e.g. chunk997_i420_threads0_contig (chunk0 = the whole file in one buffer).
std::string chunkCaseName(const ::testing::TestParamInfo<ChunkCase>& info) {
  const ChunkCase& c = info.param;
  return "chunk" + std::to_string(c.chunkSize) + "_" +
         std::string(buffers::pixelFormatName(c.format)) + "_threads" +
         std::to_string(c.threads) + (c.contiguous ? "_contig" : "_scattered");
}

TEST_P(H264ChunkTest, EveryFrameMatchesItsMd5) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  const ChunkCase& param = GetParam();
  const Clip clip = loadClip(kH264);
  SessionDriver driver(
      CodedFormat::kH264,
      {.format = param.format, .threads = param.threads, .contiguous = param.contiguous});
  queueTargets(driver, 1, 4);
  const auto buffers = chunks(clip.bytes, param.chunkSize);
  std::vector<uint64_t> timestamps;
  for (size_t i = 0; i < buffers.size(); ++i) timestamps.push_back(1'000'000 * i + 7);
  driver.decodeAll(buffers, 1, timestamps);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));

  EXPECT_THAT(md5sOf(driver.pictures), ElementsAreArray(clip.md5s));
  EXPECT_THAT(driver.inputsDone, ElementsAreArray(idRange(1, buffers.size())));
  ASSERT_EQ(driver.formats.size(), 1u);
  EXPECT_EQ(driver.formats[0].codedWidth, 320u);
  EXPECT_EQ(driver.formats[0].codedHeight, 240u);
  EXPECT_EQ(driver.formats[0].visible, (buffers::Rect{0, 0, 320, 240}));
  EXPECT_GE(driver.formats[0].minBuffers, 3u);
  EXPECT_LE(driver.formats[0].minBuffers, 32u);
  const std::set<uint64_t> sent(timestamps.begin(), timestamps.end());
  for (const DecodedPicture& picture : driver.pictures) {
    EXPECT_FALSE(picture.error);
    EXPECT_EQ(picture.bytesCopied, 320u * 240u * 3 / 2);
    EXPECT_TRUE(sent.count(picture.timestamp)) << picture.timestamp;
  }
  EXPECT_EQ(driver.eosResources.size(), 1u);
  ASSERT_GE(driver.log.size(), 2u);
  EXPECT_EQ(driver.log[driver.log.size() - 2], "eos");
  EXPECT_EQ(driver.log.back(), "flush");
  EXPECT_THAT(driver.errors, IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Chunks, H264ChunkTest,
                         ::testing::Values(ChunkCase{1000, buffers::PixelFormat::kI420, 0, true},
                                           ChunkCase{0, buffers::PixelFormat::kI420, 0, true},
                                           ChunkCase{997, buffers::PixelFormat::kI420, 0, true},
                                           ChunkCase{1, buffers::PixelFormat::kI420, 0, true},
                                           ChunkCase{7, buffers::PixelFormat::kNv12, 1, true},
                                           ChunkCase{4096, buffers::PixelFormat::kYv12, 2, false}),
                         chunkCaseName);

// The access units of an Annex-B stream, split with libavcodec's own parser.
std::vector<std::vector<uint8_t>> accessUnits(AVCodecID codec, std::vector<uint8_t> bytes) {
  const size_t total = bytes.size();
  bytes.resize(total + AV_INPUT_BUFFER_PADDING_SIZE, 0);  // the parser reads past its input
  AvParserPtr parser(av_parser_init(codec));
  AvCodecContextPtr context(avcodec_alloc_context3(nullptr));
  std::vector<std::vector<uint8_t>> units;
  size_t offset = 0;
  while (true) {
    uint8_t* out = nullptr;
    int outSize = 0;
    const int size = static_cast<int>(std::min<size_t>(total - offset, 4096));
    const int used = av_parser_parse2(parser.get(), context.get(), &out, &outSize,
                                      size > 0 ? bytes.data() + offset : nullptr, size,
                                      AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0);
    if (outSize > 0) units.emplace_back(out, out + outSize);
    offset += static_cast<size_t>(std::max(used, 0));
    if (size == 0 && outSize == 0) break;
  }
  return units;
}

TEST(FfmpegSessionTest, EachH264PictureCarriesItsAccessUnitTimestamp) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  const Clip clip = loadClip(kH264);
  const auto units = accessUnits(AV_CODEC_ID_H264, clip.bytes);
  ASSERT_EQ(units.size(), kClipFrames);
  SessionDriver driver(CodedFormat::kH264, {.threads = 4});
  queueTargets(driver, 1, 4);
  std::vector<uint64_t> timestamps;
  for (size_t i = 0; i < units.size(); ++i) timestamps.push_back(33'333'000 * (i + 1));
  driver.decodeAll(units, 1, timestamps);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  EXPECT_THAT(md5sOf(driver.pictures), ElementsAreArray(clip.md5s));
  std::vector<uint64_t> received;
  for (const DecodedPicture& picture : driver.pictures) received.push_back(picture.timestamp);
  std::sort(received.begin(), received.end());  // output order is display order
  EXPECT_THAT(received, ElementsAreArray(timestamps));
}

// One compressed frame per buffer; every picture carries its frame's timestamp, all 64 bits.
void expectIvfClip(CodedFormat format, const char* relative) {
  const Clip clip = loadClip(relative);
  const auto frames = ivfFrames(clip.bytes);
  ASSERT_EQ(frames.size(), kClipFrames);
  SessionDriver driver(format, {});
  queueTargets(driver, 10, 4);
  std::vector<uint64_t> timestamps;
  for (size_t i = 0; i < frames.size(); ++i)
    timestamps.push_back(0x9000'0000'0000'0000 + 40'000 * i);
  driver.decodeAll(frames, 1, timestamps);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  EXPECT_THAT(md5sOf(driver.pictures), ElementsAreArray(clip.md5s));
  std::vector<uint64_t> received;
  for (const DecodedPicture& picture : driver.pictures) received.push_back(picture.timestamp);
  EXPECT_THAT(received, ElementsAreArray(timestamps));
  EXPECT_THAT(driver.inputsDone, ElementsAreArray(idRange(1, frames.size())));
}

TEST(FfmpegSessionTest, Vp9FramesMatchMd5sAndTimestamps) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  expectIvfClip(CodedFormat::kVp9, kVp9);
}

TEST(FfmpegSessionTest, Vp8FramesMatchMd5sAndTimestamps) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  expectIvfClip(CodedFormat::kVp8, kVp8);
}

TEST(FfmpegSessionTest, DecodingResumesAfterFlush) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  const Clip clip = loadClip(kH264);
  SessionDriver driver(CodedFormat::kH264, {});
  queueTargets(driver, 1, 4);
  const auto buffers = chunks(clip.bytes, 1000);
  driver.decodeAll(buffers, 1);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  EXPECT_EQ(driver.pictures.size(), kClipFrames);
  EXPECT_EQ(driver.eosResources.size(), 1u);

  driver.decodeAll(buffers, 1000);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 2; }));
  std::vector<std::string> expected = clip.md5s;
  expected.insert(expected.end(), clip.md5s.begin(), clip.md5s.end());
  EXPECT_THAT(md5sOf(driver.pictures), ElementsAreArray(expected));
  EXPECT_EQ(driver.eosResources.size(), 2u);
  EXPECT_EQ(driver.formats.size(), 1u);  // same stream again: no new format
}

TEST(FfmpegSessionTest, FlushWithoutInputGivesEndOfStream) {
  SessionDriver driver(CodedFormat::kH264, {});
  driver.session().flush();
  driver.pump(std::chrono::milliseconds(50));
  EXPECT_EQ(driver.flushes, 0);  // waits for a resource to carry EOS
  driver.queueTarget(5);
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  EXPECT_THAT(driver.eosResources, ElementsAreArray({5u}));
  EXPECT_THAT(driver.pictures, IsEmpty());
}

TEST(FfmpegSessionTest, ResetCancelsQueuedInputAndDecodingRestarts) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  const Clip clip = loadClip(kH264);
  SessionDriver driver(CodedFormat::kH264, {});
  const auto buffers = chunks(clip.bytes, 1000);
  driver.decodeAll(buffers, 1);  // no output resources: decoding stalls with frames held
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return !driver.formats.empty(); }));
  driver.pump(std::chrono::milliseconds(100));
  driver.session().reset();
  ASSERT_TRUE(driver.waitFor([&] { return driver.resets.size() == 1; }));

  const std::vector<uint32_t>& cancelled = driver.resets[0];
  EXPECT_FALSE(cancelled.empty());
  std::vector<uint32_t> all = driver.inputsDone;
  all.insert(all.end(), cancelled.begin(), cancelled.end());
  std::sort(all.begin(), all.end());
  EXPECT_THAT(all, ElementsAreArray(idRange(1, buffers.size())));  // each id exactly once
  EXPECT_EQ(driver.flushes, 0);  // the pending flush was cancelled
  EXPECT_THAT(driver.pictures, IsEmpty());

  queueTargets(driver, 1, 4);
  driver.decodeAll(buffers, 1000);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  EXPECT_THAT(md5sOf(driver.pictures), ElementsAreArray(clip.md5s));
}

// Bounce path: pictures live in host frames, so a clear loses nothing (the direct path is in
// direct_render_test.cpp: a clear while frame threads decode into cleared resources drains).
TEST(FfmpegSessionTest, ClearOutputReturnsLentResourcesAndKeepsFrames) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  const Clip clip = loadClip(kH264);
  SessionDriver driver(CodedFormat::kH264, {.requeue = false, .forceBounce = true});
  queueTargets(driver, 1, 3);
  EXPECT_THAT(driver.clearOutput(), ElementsAreArray({1u, 2u, 3u}));

  queueTargets(driver, 1, 6);
  driver.decodeAll(chunks(clip.bytes, 1000), 1);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.pictures.size() >= 2; }));
  const std::vector<uint32_t> cleared = driver.clearOutput();
  driver.pump(std::chrono::milliseconds(100));
  std::set<uint32_t> returned(cleared.begin(), cleared.end());
  for (const DecodedPicture& picture : driver.pictures) {
    EXPECT_TRUE(returned.insert(picture.resourceId).second) << picture.resourceId;
  }
  EXPECT_THAT(returned, ElementsAreArray(idRange(1, 6)));  // every id back exactly once

  // Frames decoded meanwhile were kept: with new resources the clip completes in full.
  driver.setRequeue(true);
  queueTargets(driver, 100, 4);
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  EXPECT_THAT(md5sOf(driver.pictures), ElementsAreArray(clip.md5s));
  for (const DecodedPicture& picture : driver.pictures) {
    if (picture.resourceId < 100) {
      EXPECT_EQ(std::count(cleared.begin(), cleared.end(), picture.resourceId), 0);
    }
  }
}

TEST(FfmpegSessionTest, PictureTooLargeForResourceIsAnError) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  const Clip clip = loadClip(kVp9);
  const auto frames = ivfFrames(clip.bytes);
  SessionDriver driver(CodedFormat::kVp9, {.targetSize = 1000});
  queueTargets(driver, 1, 2);
  driver.decodeAll({frames.begin(), frames.begin() + 5}, 1);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  ASSERT_EQ(driver.pictures.size(), 5u);
  for (const DecodedPicture& picture : driver.pictures) {
    EXPECT_TRUE(picture.error);
    EXPECT_EQ(picture.bytesCopied, 0u);
  }
}

class GarbageTest : public ::testing::TestWithParam<CodedFormat> {};

TEST_P(GarbageTest, RandomBytesNeitherCrashNorHang) {
  std::mt19937 random(1234);
  std::vector<uint8_t> bytes(200'000);
  for (uint8_t& byte : bytes) byte = static_cast<uint8_t>(random());
  SessionDriver driver(GetParam(), {});
  queueTargets(driver, 1, 4);
  const auto buffers = chunks(bytes, 4000);
  driver.decodeAll(buffers, 1);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  EXPECT_THAT(driver.inputsDone, ElementsAreArray(idRange(1, buffers.size())));
  for (const DecodedPicture& picture : driver.pictures) EXPECT_TRUE(picture.error);
}

INSTANTIATE_TEST_SUITE_P(Codecs, GarbageTest,
                         ::testing::Values(CodedFormat::kH264, CodedFormat::kHevc,
                                           CodedFormat::kVp8, CodedFormat::kVp9),
                         [](const auto& info) { return std::string(codedFormatName(info.param)); });

TEST(FfmpegSessionTest, DamagedH264KeepsDecoding) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  Clip clip = loadClip(kH264);
  for (size_t i = 20'000; i < clip.bytes.size(); i += 10'000) clip.bytes[i] ^= 0x5a;
  SessionDriver driver(CodedFormat::kH264, {});
  queueTargets(driver, 1, 4);
  driver.decodeAll(chunks(clip.bytes, 1000), 1);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  EXPECT_GT(driver.pictures.size(), kClipFrames / 2);
  const auto damaged = std::count_if(driver.pictures.begin(), driver.pictures.end(),
                                     [](const DecodedPicture& picture) { return picture.error; });
  EXPECT_GT(damaged, 0);
  EXPECT_THAT(driver.errors, IsEmpty());
}

TEST(FfmpegSessionTest, OddCropIsExact) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  // CVFC1_Sony_C crops an odd number of pixels on the left/top; the fluster md5 assumes an
  // exact crop, which libavcodec only does with -flags unaligned.
  const std::vector<uint8_t> bytes =
      readFile(vdec::testing::conformanceFile("h264/jvt-avc-v1/CVFC1_Sony_C.jsv"));
  ASSERT_FALSE(bytes.empty());
  SessionDriver driver(CodedFormat::kH264, {});
  queueTargets(driver, 1, 4);
  driver.decodeAll(chunks(bytes, 1500), 1);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  ASSERT_FALSE(driver.formats.empty());
  EXPECT_EQ(driver.wholeOutputMd5(), "9fdb17e17d332b5d9752362c9c7ff9b0");
}

TEST(FfmpegSessionTest, ResolutionChangeMidStream) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  const Clip clip = loadClip(kH264);
  std::vector<uint8_t> bytes = clip.bytes;
  const std::vector<uint8_t> second =
      readFile(vdec::testing::conformanceFile("h264/jvt-avc-v1/BA1_Sony_D.jsv"));
  ASSERT_FALSE(second.empty());
  bytes.insert(bytes.end(), second.begin(), second.end());
  SessionDriver driver(CodedFormat::kH264, {});
  queueTargets(driver, 1, 4);
  driver.decodeAll(chunks(bytes, 1000), 1);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  ASSERT_EQ(driver.formats.size(), 2u);
  EXPECT_EQ(driver.formats[1].codedWidth, 176u);
  EXPECT_EQ(driver.formats[1].visible, (buffers::Rect{0, 0, 176, 144}));
  ASSERT_GT(driver.pictures.size(), kClipFrames);
  const std::vector<std::string> all = md5sOf(driver.pictures);
  EXPECT_THAT(std::vector<std::string>(all.begin(), all.begin() + kClipFrames),
              ElementsAreArray(clip.md5s));
}

// A few frames of H.264 from libx264 in `format`, or nothing when libx264 is unavailable.
std::vector<uint8_t> encodeWithX264(AVPixelFormat format, int frames) {
  const AVCodec* encoder = avcodec_find_encoder_by_name("libx264");
  if (encoder == nullptr) return {};
  AvCodecContextPtr context(avcodec_alloc_context3(encoder));
  context->width = 64;
  context->height = 48;
  context->pix_fmt = format;
  context->time_base = AVRational{1, 25};
  av_opt_set(context->priv_data, "preset", "ultrafast", 0);
  if (avcodec_open2(context.get(), encoder, nullptr) < 0) return {};
  std::vector<uint8_t> stream;
  AvPacketPtr packet(av_packet_alloc());
  auto drain = [&] {
    while (avcodec_receive_packet(context.get(), packet.get()) == 0) {
      stream.insert(stream.end(), packet->data, packet->data + packet->size);
      av_packet_unref(packet.get());
    }
  };
  for (int i = 0; i < frames; ++i) {
    AvFramePtr frame(av_frame_alloc());
    frame->format = format;
    frame->width = context->width;
    frame->height = context->height;
    if (av_frame_get_buffer(frame.get(), 0) < 0) return {};
    const int chromaRows = format == AV_PIX_FMT_YUV420P ? 24 : 48;
    for (int plane = 0; plane < 3; ++plane) {
      std::fill_n(frame->data[plane], frame->linesize[plane] * (plane == 0 ? 48 : chromaRows),
                  static_cast<uint8_t>(16 * i + 40 * plane));
    }
    frame->pts = i;
    avcodec_send_frame(context.get(), frame.get());
    drain();
  }
  avcodec_send_frame(context.get(), nullptr);
  drain();
  return stream;
}

TEST(FfmpegSessionTest, Yuv422StreamEndsWithStreamError) {
  const std::vector<uint8_t> stream = encodeWithX264(AV_PIX_FMT_YUV422P, 5);
  if (stream.empty()) GTEST_SKIP() << "libx264 is not available to make a 4:2:2 stream";
  SessionDriver driver(CodedFormat::kH264, {});
  queueTargets(driver, 1, 4);
  const auto buffers = chunks(stream, 100);
  driver.decodeAll(buffers, 1);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  ASSERT_EQ(driver.errors.size(), 1u);
  EXPECT_THAT(driver.errors[0], HasSubstr("yuv422p"));
  EXPECT_THAT(driver.pictures, IsEmpty());
  EXPECT_THAT(driver.formats, IsEmpty());
  EXPECT_THAT(driver.inputsDone, ElementsAreArray(idRange(1, buffers.size())));

  // Input after the error is still consumed.
  driver.decodeAll(buffers, 500);
  ASSERT_TRUE(driver.waitFor([&] { return driver.inputsDone.size() == 2 * buffers.size(); }));
  EXPECT_EQ(driver.errors.size(), 1u);
}

TEST(FfmpegSessionTest, X264Yuv420StreamDecodes) {
  const std::vector<uint8_t> stream = encodeWithX264(AV_PIX_FMT_YUV420P, 5);
  if (stream.empty()) GTEST_SKIP() << "libx264 is not available";
  SessionDriver driver(CodedFormat::kH264, {});
  queueTargets(driver, 1, 4);
  driver.decodeAll(chunks(stream, 100), 1);
  driver.session().flush();
  ASSERT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  EXPECT_EQ(driver.pictures.size(), 5u);
  EXPECT_THAT(driver.errors, IsEmpty());
}

TEST(FfmpegPixelFormatTest, OnlyEightBit420IsAccepted) {
  EXPECT_TRUE(checkOutputPixelFormat(AV_PIX_FMT_YUV420P));
  EXPECT_TRUE(checkOutputPixelFormat(AV_PIX_FMT_YUVJ420P));
  Status unsupported = checkOutputPixelFormat(AV_PIX_FMT_YUV422P);
  ASSERT_FALSE(unsupported);
  EXPECT_EQ(unsupported.error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(unsupported.error().message,
            "unsupported pixel format yuv422p (only 8-bit 4:2:0 is advertised)");
  EXPECT_FALSE(checkOutputPixelFormat(AV_PIX_FMT_YUV420P10LE));
  EXPECT_FALSE(checkOutputPixelFormat(AV_PIX_FMT_YUV444P));
  EXPECT_FALSE(checkOutputPixelFormat(AV_PIX_FMT_NV12));
}

TEST(FfmpegFrameGeometryTest, CropIsExactAndClamped) {
  AvFramePtr frame(av_frame_alloc());
  frame->width = 352;
  frame->height = 288;
  frame->format = AV_PIX_FMT_YUV420P;
  frame->crop_left = 3;
  frame->crop_top = 1;
  frame->crop_right = 5;
  frame->crop_bottom = 7;
  FrameGeometry geometry = frameGeometry(*frame);
  EXPECT_EQ(geometry.codedWidth, 352u);
  EXPECT_EQ(geometry.codedHeight, 288u);
  EXPECT_EQ(geometry.visible, (buffers::Rect{3, 1, 344, 280}));
  frame->crop_left = 400;
  frame->crop_bottom = 1000;
  geometry = frameGeometry(*frame);
  EXPECT_EQ(geometry.visible, (buffers::Rect{352, 1, 0, 0}));
}

}  // namespace
}  // namespace vdec::codecs::testing
