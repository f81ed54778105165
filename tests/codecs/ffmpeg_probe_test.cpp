// SPDX-License-Identifier: MIT
// FfmpegProbe: the format comes out with the first decoded picture (drained at once), not after
// the reordering delay, and says the same as a decoder that decoded the whole stream.
#include "codecs/ffmpeg_probe.h"

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/test_paths.h"

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace vdec::codecs {
namespace {

// The access units of an Annex B H.264 file, as libavcodec's parser cuts them.
std::vector<std::vector<uint8_t>> h264Packets(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(file), {}};
  std::vector<std::vector<uint8_t>> packets;
  AVCodecParserContext* parser = av_parser_init(AV_CODEC_ID_H264);
  AvCodecContextPtr context(avcodec_alloc_context3(avcodec_find_decoder(AV_CODEC_ID_H264)));
  if (parser == nullptr || !context) return packets;
  size_t offset = 0;
  while (true) {
    const bool end = offset >= bytes.size();
    uint8_t* out = nullptr;
    int outSize = 0;
    const int used = av_parser_parse2(parser, context.get(), &out, &outSize,
                                      end ? nullptr : bytes.data() + offset,
                                      end ? 0 : static_cast<int>(bytes.size() - offset),
                                      AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0);
    if (outSize > 0) packets.emplace_back(out, out + outSize);
    if (end) break;
    offset += static_cast<size_t>(std::max(used, 0));
  }
  av_parser_close(parser);
  return packets;
}

// has_b_frames and refs of a single-threaded decoder (strict, as the session's) at the end.
ProbedFormat decodedToTheEnd(const std::vector<std::vector<uint8_t>>& packets) {
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_H264);
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
  const auto packets = h264Packets(vdec::testing::samplesDir() + "/data/testsrc2-320x180.h264");
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
  const auto packets = h264Packets(vdec::testing::samplesDir() + "/data/testsrc2-320x180.h264");
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

}  // namespace
}  // namespace vdec::codecs
