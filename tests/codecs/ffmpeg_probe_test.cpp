// SPDX-License-Identifier: MIT
// FfmpegProbe: the format comes out with the first decoded picture (drained at once), not after
// the reordering delay, and says the same as a decoder that decoded the whole stream, although
// it decodes only the slice heads of H.264 and HEVC access units.
#include "codecs/ffmpeg_probe.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codecs/probe_cut.h"
#include "tests/clips/clip_factory.h"
#include "tests/test_paths.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

namespace vdec::codecs {
namespace {

// The access units of an Annex B H.264 or HEVC file, as libavcodec's parser cuts them.
std::vector<std::vector<uint8_t>> annexBPackets(const std::string& path,
                                                AVCodecID codec = AV_CODEC_ID_H264) {
  std::ifstream file(path, std::ios::binary);
  const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(file), {}};
  std::vector<std::vector<uint8_t>> packets;
  AVCodecParserContext* parser = av_parser_init(codec);
  AvCodecContextPtr context(avcodec_alloc_context3(avcodec_find_decoder(codec)));
  if (parser == nullptr || !context) return packets;
  size_t offset = 0;
  while (true) {
    const bool end = offset >= bytes.size();
    uint8_t* out = nullptr;
    int outSize = 0;
    const int used = av_parser_parse2(
        parser, context.get(), &out, &outSize, end ? nullptr : bytes.data() + offset,
        end ? 0 : static_cast<int>(bytes.size() - offset), AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0);
    if (outSize > 0) packets.emplace_back(out, out + outSize);
    if (end) break;
    offset += static_cast<size_t>(std::max(used, 0));
  }
  av_parser_close(parser);
  return packets;
}

// has_b_frames and refs of a single-threaded decoder (strict, as the session's) at the end.
ProbedFormat decodedToTheEnd(const std::vector<std::vector<uint8_t>>& packets,
                             AVCodecID codecId = AV_CODEC_ID_H264) {
  const AVCodec* codec = avcodec_find_decoder(codecId);
  AvCodecContextPtr context(avcodec_alloc_context3(codec));
  context->thread_count = 1;
  context->apply_cropping = 0;
  followStreamReordering(*context);
  EXPECT_EQ(avcodec_open2(context.get(), codec, nullptr), 0);
  AvFramePtr frame(av_frame_alloc());
  ProbedFormat format;
  bool first = true;
  auto receiveAll = [&] {
    while (avcodec_receive_frame(context.get(), frame.get()) == 0) {
      if (first) format.geometry = frameGeometry(*frame);
      first = false;
      av_frame_unref(frame.get());
    }
  };
  for (const auto& bytes : packets) {
    AVPacket* packet = av_packet_alloc();
    av_new_packet(packet, static_cast<int>(bytes.size()));
    std::copy(bytes.begin(), bytes.end(), packet->data);
    avcodec_send_packet(context.get(), packet);
    av_packet_free(&packet);
    receiveAll();
  }
  avcodec_send_packet(context.get(), nullptr);
  receiveAll();
  format.refs = context->refs;
  format.hasBFrames = context->has_b_frames;
  return format;
}

TEST(FfmpegProbeTest, TheFirstDecodedPictureGivesTheFormatAtOnce) {
  const auto packets = annexBPackets(vdec::testing::samplesDir() + "/data/testsrc2-320x180.h264");
  ASSERT_GT(packets.size(), 4u);
  const ProbedFormat reference = decodedToTheEnd(packets);
  ASSERT_GT(reference.hasBFrames, 0) << "the sample must reorder for this test to mean anything";

  std::unique_ptr<FfmpegProbe> probe = FfmpegProbe::create(AV_CODEC_ID_H264);
  ASSERT_TRUE(probe);
  AVPacket* packet = av_packet_alloc();
  av_new_packet(packet, static_cast<int>(packets[0].size()));
  std::copy(packets[0].begin(), packets[0].end(), packet->data);
  const std::optional<ProbedFormat> probed = probe->feed(*packet);
  av_packet_free(&packet);
  // The first access unit (parameter sets and the key frame) is enough.
  ASSERT_TRUE(probed) << "no format after the first picture";
  EXPECT_EQ(probed->geometry, reference.geometry);
  EXPECT_EQ(probed->geometry.visible.width, 320u);
  EXPECT_EQ(probed->geometry.visible.height, 180u);
  EXPECT_EQ(probed->refs, reference.refs);
  EXPECT_EQ(probed->hasBFrames, reference.hasBFrames);
}

// Garbage first (nothing decodes, nothing to drain), then the stream: still found.
TEST(FfmpegProbeTest, GarbageBeforeTheStreamDoesNotUseUpTheEarlyDrain) {
  const auto packets = annexBPackets(vdec::testing::samplesDir() + "/data/testsrc2-320x180.h264");
  ASSERT_FALSE(packets.empty());
  std::unique_ptr<FfmpegProbe> probe = FfmpegProbe::create(AV_CODEC_ID_H264);
  ASSERT_TRUE(probe);
  std::vector<std::vector<uint8_t>> input{{0x00, 0x00, 0x01, 0x09}, std::vector<uint8_t>(64, 0xFF)};
  input.insert(input.end(), packets.begin(), packets.end());
  std::optional<ProbedFormat> probed;
  size_t fed = 0;
  for (const auto& bytes : input) {
    AVPacket* packet = av_packet_alloc();
    av_new_packet(packet, static_cast<int>(bytes.size()));
    std::copy(bytes.begin(), bytes.end(), packet->data);
    probed = probe->feed(*packet);
    av_packet_free(&packet);
    ++fed;
    if (probed) break;
  }
  ASSERT_TRUE(probed);
  EXPECT_EQ(fed, 3u) << "the format must come with the first real picture";
  EXPECT_EQ(probed->geometry.visible.width, 320u);
}

// Feeds access units to a new probe until it gives the format.
std::optional<ProbedFormat> probeUntilFormat(
    const std::vector<std::vector<uint8_t>>& packets, AVCodecID codec,
    FfmpegProbe::Input input = FfmpegProbe::Input::kHeads) {
  std::unique_ptr<FfmpegProbe> probe = FfmpegProbe::create(codec, input);
  if (!probe) return std::nullopt;
  for (const auto& bytes : packets) {
    AvPacketPtr packet(av_packet_alloc());
    av_new_packet(packet.get(), static_cast<int>(bytes.size()));
    std::copy(bytes.begin(), bytes.end(), packet->data);
    if (std::optional<ProbedFormat> format = probe->feed(*packet)) return format;
  }
  return probe->drain();
}

// The head probe finds a format exactly where the whole-picture probe does, and the same
// one as a decoder that decoded every picture whole: geometry (crop on every side included),
// refs and reordering delay, for field and frame coding, several slices per picture, and (when
// the vectors are beside the checkout) every H.264 and HEVC conformance stream. Returns whether
// the probe found one (a PAFF stream's lone first field drains to nothing, and from then on no
// picture comes out before an IDR: the session then takes the format from its decoder).
bool expectHeadProbeMatches(const std::vector<std::vector<uint8_t>>& packets, AVCodecID codec) {
  EXPECT_FALSE(packets.empty());
  const ProbedFormat reference = decodedToTheEnd(packets, codec);
  const std::optional<ProbedFormat> probed = probeUntilFormat(packets, codec);
  const std::optional<ProbedFormat> whole =
      probeUntilFormat(packets, codec, FfmpegProbe::Input::kWholePictures);
  EXPECT_EQ(probed.has_value(), whole.has_value());
  if (!probed) return false;
  EXPECT_EQ(probed->geometry, reference.geometry);
  EXPECT_EQ(probed->refs, reference.refs);
  EXPECT_EQ(probed->hasBFrames, reference.hasBFrames);
  return true;
}

// The packets of a file: VP9 frames (superframes) as libavformat reads them from IVF or WebM,
// or Annex B access units as the parser cuts them.
std::vector<std::vector<uint8_t>> packetsOf(const std::string& path, AVCodecID codec) {
  if (codec != AV_CODEC_ID_VP9) return annexBPackets(path, codec);
  std::vector<std::vector<uint8_t>> packets;
  AVFormatContext* format = nullptr;
  if (avformat_open_input(&format, path.c_str(), nullptr, nullptr) < 0) return packets;
  AvPacketPtr packet(av_packet_alloc());
  while (av_read_frame(format, packet.get()) >= 0) {
    packets.emplace_back(packet->data, packet->data + packet->size);
    av_packet_unref(packet.get());
  }
  avformat_close_input(&format);
  return packets;
}

bool expectSliceHeadProbeMatches(const std::string& path, AVCodecID codec) {
  SCOPED_TRACE(path);
  return expectHeadProbeMatches(packetsOf(path, codec), codec);
}

TEST(FfmpegProbeTest, SliceHeadsGiveTheFormatOfTheWholeDecode) {
  std::vector<std::string> h264{vdec::testing::samplesDir() + "/data/testsrc2-320x180.h264"};
  for (const auto& entry : std::filesystem::directory_iterator(vdec::testing::testDataDir())) {
    if (entry.path().extension() == ".h264") h264.push_back(entry.path().string());
  }
  size_t found = 0;
  for (const std::string& path : h264) found += expectSliceHeadProbeMatches(path, AV_CODEC_ID_H264);
  EXPECT_GE(h264.size(), 8u);
  EXPECT_GE(found, h264.size() - 2) << "only the two PAFF streams may leave it to the decoder";
}

TEST(FfmpegProbeTest, SliceHeadsGiveCropsFromTheLeftAndTop) {
  using vdec::testing::ClipFactory;
  for (const char* name : {"h264_crop_left_top_176x144", "hevc_crop_left_top_176x144"}) {
    const auto& spec = vdec::testing::standardClip(name);
    if (!ClipFactory::unavailableReason(spec.codec).empty()) {
      GTEST_SKIP() << ClipFactory::unavailableReason(spec.codec);
    }
    const auto clip = ClipFactory().generate(spec);
    ASSERT_TRUE(clip.has_value()) << clip.error().message;
    const AVCodecID codec = spec.codec == "h264" ? AV_CODEC_ID_H264 : AV_CODEC_ID_HEVC;
    const auto packets = annexBPackets(clip->path, codec);
    ASSERT_FALSE(packets.empty());
    // The first access unit is long enough to be cut: the probe sees only its slice head.
    EXPECT_TRUE(probeCut(codec, packets.front())) << name;
    const std::optional<ProbedFormat> probed = probeUntilFormat(packets, codec);
    ASSERT_TRUE(probed) << name;
    EXPECT_EQ(probed->geometry.visible, (buffers::Rect{16, 8, 158, 134})) << name;
    EXPECT_TRUE(expectSliceHeadProbeMatches(clip->path, codec)) << name;
  }
}

TEST(FfmpegProbeTest, Vp9FrameHeadersGiveTheFormatOfTheWholeDecode) {
  using vdec::testing::ClipFactory;
  for (const char* name : {"vp9_66x34_altref", "vp9_tiny_16x16"}) {
    const auto& spec = vdec::testing::standardClip(name);
    if (!ClipFactory::unavailableReason(spec.codec).empty()) {
      GTEST_SKIP() << ClipFactory::unavailableReason(spec.codec);
    }
    const auto clip = ClipFactory().generate(spec);
    ASSERT_TRUE(clip.has_value()) << clip.error().message;
    const auto packets = packetsOf(clip->path, AV_CODEC_ID_VP9);
    ASSERT_FALSE(packets.empty());
    EXPECT_TRUE(expectSliceHeadProbeMatches(clip->path, AV_CODEC_ID_VP9)) << name;
  }
  // A key frame larger than the head: the probe sees only its uncompressed header.
  const auto& spec = vdec::testing::standardClip("vp9_66x34_altref");
  if (!ClipFactory::unavailableReason(spec.codec).empty()) return;
  const auto packets = packetsOf(ClipFactory().generate(spec)->path, AV_CODEC_ID_VP9);
  std::vector<uint8_t> big = packets.front();
  big.resize(kVp9FrameHeadBytes * 4, 0);  // padding after the frame: never decoded
  std::vector<std::vector<uint8_t>> padded{big};
  padded.insert(padded.end(), packets.begin() + 1, packets.end());
  ASSERT_TRUE(probeCut(AV_CODEC_ID_VP9, padded.front()));
  const std::optional<ProbedFormat> probed = probeUntilFormat(padded, AV_CODEC_ID_VP9);
  ASSERT_TRUE(probed);
  EXPECT_EQ(probed->geometry.codedWidth, 66u);
  EXPECT_EQ(probed->geometry.codedHeight, 34u);
  EXPECT_EQ(probed->geometry.visible, (buffers::Rect{0, 0, 66, 34}));
  EXPECT_EQ(probed->geometry.pixelFormat, AV_PIX_FMT_YUV420P);
}

TEST(FfmpegProbeTest, HeadsGiveTheFormatOfEveryConformanceStream) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  size_t streams = 0;
  size_t found = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(vdec::testing::conformanceDir())) {
    const std::string top =
        std::filesystem::relative(entry.path(), vdec::testing::conformanceDir()).begin()->string();
    const std::string extension = entry.path().extension().string();
    if (!entry.is_regular_file() || extension == ".md5" || extension == ".json" ||
        extension == ".txt" || extension == ".yuv") {
      continue;
    }
    if (top != "h264" && top != "hevc" && top != "vp9") continue;
    const AVCodecID codec = top == "h264"   ? AV_CODEC_ID_H264
                            : top == "hevc" ? AV_CODEC_ID_HEVC
                                            : AV_CODEC_ID_VP9;
    found += expectSliceHeadProbeMatches(entry.path().string(), codec);
    ++streams;
  }
  EXPECT_GE(streams, 80u);
  EXPECT_GE(found, streams - 2);
}

}  // namespace
}  // namespace vdec::codecs
