// SPDX-License-Identifier: MIT
// Packetizer: turns the guest's input buffers (a byte stream cut anywhere) into whole-frame,
// padded packets numbered in decoding order, and tells which input buffers were consumed.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "codecs/av_ptr.h"
#include "codecs/coded_format.h"

namespace vdec::codecs {

// One guest input buffer: bytes the session owns.
struct InputChunk {
  uint32_t id = 0;
  uint64_t timestamp = 0;
  std::vector<uint8_t> bytes;
};

// A packet ready for libavcodec. Its pts is `seq`, the packet's number in decoding order: a
// picture's pts names the packet that started it, whatever reordering or frame threads did.
struct ParsedPacket {
  AvPacketPtr packet;
  uint64_t seq = 0;
  bool keyFrame = false;  // decoding can (re)start here without earlier packets
};

// Annex-B input (H.264, HEVC) and VP9 go through libavcodec's parser, so buffers may cut the
// stream anywhere. VP8 (no parser in libavcodec 5.1) takes one frame per buffer, AV1 one
// temporal unit per buffer in the low-overhead OBU format (av1_temporal_unit.h; libavcodec's av1
// parser only describes whole units). Such a buffer is one packet, unchanged; an AV1 buffer whose
// OBU sizes overrun it is consumed without a packet.
//
// Timestamps: a packet carries the timestamp of the input that holds its first byte (the
// parser's own pts follows MPEG PES rules and would give whole-frame buffers none). The parser's
// packets concatenate to exactly the bytes fed in, so byte offsets tell which input that is.
//
// Consumption: an input is consumed once the parser has taken all its bytes and every packet
// finished so far went to the decoder (`takeConsumed(lastSentSeq)`); bytes the parser holds for
// an unfinished frame count as consumed, as they would in a hardware decoder's bitstream buffer.
//
// Threads: the session thread only.
class Packetizer {
 public:
  explicit Packetizer(CodedFormat format);

  // False when libavcodec has no parser for a format that needs one.
  bool valid() const;
  // An input is being cut into packets (start() only when not).
  bool parsing() const { return current_.has_value(); }
  // The parser holds bytes of a frame it has not finished (finish() gives them out).
  bool holdsBytes() const { return parsedIn_ > parsedOut_ + (current_ ? currentSize_ - currentOffset_ : 0); }
  void start(InputChunk input);
  // Hands at most kMaxParseChunk bytes to the parser; returns a packet when one is complete.
  std::optional<ParsedPacket> parseStep(AVCodecContext& context);
  // End of input (drain): the frame the parser still holds, if any. The parser starts afresh.
  std::optional<ParsedPacket> finish(AVCodecContext& context);
  // Ids of inputs consumed once packets up to `lastSentSeq` are in the decoder, in order.
  std::vector<uint32_t> takeConsumed(uint64_t lastSentSeq);
  // The guest timestamp of packet `seq` (0 when unknown: too old, or never numbered).
  uint64_t timestampOf(int64_t pts) const;
  // Packet `seq` is the second field of a field pair (its picture is the previous packet's).
  bool secondField(int64_t pts) const;
  // Drops partial frames and pending inputs; returns the ids of inputs not yet consumed.
  std::vector<uint32_t> reset();

  // Bytes one parser call reads at most (it also bounds the parser's int sizes).
  static constexpr size_t kMaxParseChunk = size_t{1} << 20;
  // One VP8 frame or AV1 temporal unit at most.
  static constexpr size_t kMaxPacketSize = size_t{64} << 20;
  // Packets whose timestamps are remembered (pictures come out within the DPB's reach).
  static constexpr size_t kTrackedPackets = 4096;

 private:
  struct StampedRange {
    uint64_t end = 0;  // bytes [.., end) of the parsed stream came from an input stamped...
    uint64_t timestamp = 0;
  };
  struct ParsedInput {
    uint32_t id = 0;
    uint64_t watermark = 0;  // consumed once packets up to this seq were sent
  };

  ParsedPacket number(const uint8_t* data, int size, uint64_t timestamp, bool keyFrame,
                      bool field);
  // Parses without the decoder's packet number in the context: parser messages are not
  // decoding errors of a packet (DecodeErrorLog).
  int parse(AVCodecContext& context, uint8_t** out, int* outSize, const uint8_t* data, int size);
  std::optional<ParsedPacket> takeParsed(const uint8_t* data, int size);
  void finishInput();

  const CodedFormat format_;
  AvParserPtr parser_;  // null for VP8 and AV1
  std::optional<InputChunk> current_;
  size_t currentSize_ = 0;    // bytes of current_ (its vector grows by the parser's padding)
  size_t currentOffset_ = 0;  // bytes of current_ handed to the parser
  std::deque<StampedRange> stamps_;
  std::deque<ParsedInput> parsedInputs_;
  uint64_t parsedIn_ = 0;   // bytes handed to the parser
  uint64_t parsedOut_ = 0;  // bytes it returned as packets
  uint64_t lastTimestamp_ = 0;
  uint64_t nextSeq_ = 1;
  struct PacketInfo {
    uint64_t timestamp = 0;
    bool secondField = false;
  };
  std::deque<PacketInfo> packets_;  // of packets [firstTracked_, nextSeq_)
  uint64_t firstTracked_ = 1;
  bool openField_ = false;  // the last packet was a first field
  const PacketInfo* infoOf(int64_t pts) const;
};

}  // namespace vdec::codecs
