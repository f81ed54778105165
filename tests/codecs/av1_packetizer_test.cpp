// SPDX-License-Identifier: MIT
// inspectAv1TemporalUnit on hand-made OBUs (good, short, oversized, overflowing sizes) and the
// packetizer's AV1 contract: one input buffer = one packet, bytes unchanged.
#include "codecs/av1_temporal_unit.h"

#include <gtest/gtest.h>

#include "codecs/packetizer.h"

namespace vdec::codecs {
namespace {

using Bytes = std::vector<uint8_t>;

// OBU headers with obu_has_size_field = 1: type << 3 | 0x02.
constexpr uint8_t kTemporalDelimiter = 0x12;
constexpr uint8_t kSequenceHeader = 0x0a;
constexpr uint8_t kFrame = 0x32;
constexpr uint8_t kFrameHeader = 0x1a;

// A temporal delimiter, a sequence header (if `sequence`), then a frame OBU whose header
// starts with `frameByte` (show_existing_frame = bit 7, frame_type = bits 6-5).
Bytes unit(bool sequence, uint8_t frameByte, uint8_t sequenceByte = 0x00) {
  Bytes bytes{kTemporalDelimiter, 0x00};
  if (sequence) bytes.insert(bytes.end(), {kSequenceHeader, 0x03, sequenceByte, 0x00, 0x00});
  bytes.insert(bytes.end(), {kFrame, 0x04, frameByte, 0x11, 0x22, 0x33});
  return bytes;
}

Av1TemporalUnitInfo inspect(const Bytes& bytes) { return inspectAv1TemporalUnit(bytes); }

TEST(Av1TemporalUnitTest, KeyFrameNeedsASequenceHeader) {
  const Av1TemporalUnitInfo key = inspect(unit(true, 0x10));
  EXPECT_TRUE(key.wellFormed);
  EXPECT_EQ(key.obuCount, 3u);
  EXPECT_TRUE(key.sequenceHeader);
  EXPECT_TRUE(key.keyFrame);
  EXPECT_FALSE(key.showExistingFrame);
  // A key frame without a sequence header in the unit: decoding cannot start there.
  EXPECT_FALSE(inspect(unit(false, 0x10)).keyFrame);
  EXPECT_TRUE(inspect(unit(false, 0x10)).wellFormed);
}

TEST(Av1TemporalUnitTest, InterIntraOnlyAndShownExistingFramesAreNotKeyFrames) {
  EXPECT_FALSE(inspect(unit(true, 0x20)).keyFrame);  // INTER_FRAME
  EXPECT_FALSE(inspect(unit(true, 0x40)).keyFrame);  // INTRA_ONLY_FRAME
  const Av1TemporalUnitInfo shown = inspect(unit(false, 0x80));
  EXPECT_TRUE(shown.showExistingFrame);
  EXPECT_FALSE(shown.keyFrame);
  // A frame header OBU counts as a frame OBU does; only the first frame header is read.
  Bytes bytes = unit(true, 0x20);
  bytes.insert(bytes.end(), {kFrameHeader, 0x01, 0x00});
  EXPECT_FALSE(inspect(bytes).keyFrame);
}

TEST(Av1TemporalUnitTest, ReducedStillPictureIsAlwaysAKeyFrame) {
  // reduced_still_picture_header (bit 3 of the sequence header's first byte): no
  // show_existing_frame or frame_type bits; the frame byte would read as show_existing.
  EXPECT_TRUE(inspect(unit(true, 0x80, 0x18)).keyFrame);
}

TEST(Av1TemporalUnitTest, EmptyAndHeaderOnlyInput) {
  const Av1TemporalUnitInfo empty = inspect({});
  EXPECT_TRUE(empty.wellFormed);
  EXPECT_EQ(empty.obuCount, 0u);
  EXPECT_FALSE(empty.keyFrame);
  // An OBU without a size field runs to the end of the buffer.
  const Av1TemporalUnitInfo sizeless = inspect({0x30, 0x10});
  EXPECT_TRUE(sizeless.wellFormed);
  EXPECT_EQ(sizeless.obuCount, 1u);
  // A frame OBU with an empty payload.
  EXPECT_TRUE(inspect({kFrame, 0x00}).wellFormed);
}

TEST(Av1TemporalUnitTest, ShortOversizedAndOverflowingOnesAreMalformed) {
  EXPECT_FALSE(inspect({0x92, 0x00}).wellFormed);              // forbidden bit
  EXPECT_FALSE(inspect({kTemporalDelimiter}).wellFormed);      // size field missing
  EXPECT_FALSE(inspect({kFrame, 0x05, 0x10}).wellFormed);      // size past the end
  EXPECT_FALSE(inspect({kFrame | 0x04}).wellFormed);           // extension byte missing
  EXPECT_FALSE(inspect({kFrame, 0x80, 0x80}).wellFormed);      // leb128 cut short
  // leb128 of nine bytes, and one of 2^32 (above the spec's 2^32 - 1).
  EXPECT_FALSE(inspect({kFrame, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}).wellFormed);
  EXPECT_FALSE(inspect({kFrame, 0x80, 0x80, 0x80, 0x80, 0x10}).wellFormed);
  // 2^32 - 1 is a valid size, still far past the end.
  EXPECT_FALSE(inspect({kFrame, 0xff, 0xff, 0xff, 0xff, 0x0f}).wellFormed);
  // A good key frame followed by garbage: not well formed, so not a place to restart.
  Bytes bytes = unit(true, 0x10);
  bytes.insert(bytes.end(), {kFrame, 0x7f});
  const Av1TemporalUnitInfo broken = inspect(bytes);
  EXPECT_FALSE(broken.wellFormed);
  EXPECT_FALSE(broken.keyFrame);
}

TEST(Av1TemporalUnitTest, ExtensionHeaderIsSkipped) {
  // Frame OBU with obu_extension_flag: one more header byte before the size.
  Bytes bytes{kSequenceHeader, 0x01, 0x00, kFrame | 0x04, 0x08, 0x01, 0x10};
  const Av1TemporalUnitInfo info = inspect(bytes);
  EXPECT_TRUE(info.wellFormed);
  EXPECT_TRUE(info.keyFrame);
}

TEST(Av1PacketizerTest, OneBufferIsOnePacketWithItsBytes) {
  Packetizer packetizer(CodedFormat::kAv1);
  ASSERT_TRUE(packetizer.valid());
  AvCodecContextPtr context(avcodec_alloc_context3(nullptr));
  const Bytes key = unit(true, 0x10);
  const Bytes inter = unit(false, 0x20);
  packetizer.start(InputChunk{7, 700, key});
  std::optional<ParsedPacket> first = packetizer.parseStep(*context);
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(packetizer.parsing());
  EXPECT_EQ(Bytes(first->packet->data, first->packet->data + first->packet->size), key);
  EXPECT_TRUE(first->keyFrame);
  EXPECT_TRUE(first->packet->flags & AV_PKT_FLAG_KEY);
  packetizer.start(InputChunk{8, 800, inter});
  std::optional<ParsedPacket> second = packetizer.parseStep(*context);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->keyFrame);
  EXPECT_EQ(second->seq, first->seq + 1);
  EXPECT_EQ(packetizer.timestampOf(second->packet->pts), 800u);
  EXPECT_FALSE(packetizer.holdsBytes());
  EXPECT_FALSE(packetizer.finish(*context).has_value());
  EXPECT_EQ(packetizer.takeConsumed(second->seq), (std::vector<uint32_t>{7, 8}));
}

TEST(Av1PacketizerTest, WellFormedGarbageIsStillOnePacket) {
  // The decoder judges damage inside OBUs; the packetizer only cuts.
  Packetizer packetizer(CodedFormat::kAv1);
  AvCodecContextPtr context(avcodec_alloc_context3(nullptr));
  packetizer.start(InputChunk{1, 0, Bytes{kFrame, 0x02, 0xff, 0xff}});
  std::optional<ParsedPacket> packet = packetizer.parseStep(*context);
  ASSERT_TRUE(packet.has_value());
  EXPECT_EQ(packet->packet->size, 4);
  EXPECT_FALSE(packet->keyFrame);
}

TEST(Av1PacketizerTest, UnitWhoseObuSizesOverrunItIsConsumedWithoutAPacket) {
  Packetizer packetizer(CodedFormat::kAv1);
  AvCodecContextPtr context(avcodec_alloc_context3(nullptr));
  Bytes cut = unit(true, 0x10);
  cut.pop_back();
  packetizer.start(InputChunk{3, 0, cut});
  EXPECT_FALSE(packetizer.parseStep(*context).has_value());
  EXPECT_FALSE(packetizer.parsing());
  packetizer.start(InputChunk{4, 0, Bytes{0x92, 0x00}});  // forbidden bit
  EXPECT_FALSE(packetizer.parseStep(*context).has_value());
  packetizer.start(InputChunk{5, 0, unit(true, 0x10)});
  std::optional<ParsedPacket> packet = packetizer.parseStep(*context);
  ASSERT_TRUE(packet.has_value());
  EXPECT_TRUE(packet->keyFrame);
  EXPECT_EQ(packetizer.takeConsumed(packet->seq), (std::vector<uint32_t>{3, 4, 5}));
}

}  // namespace
}  // namespace vdec::codecs
