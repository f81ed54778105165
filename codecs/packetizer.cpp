// SPDX-License-Identifier: MIT
#include "codecs/packetizer.h"

#include <algorithm>
#include <cstring>

#include "codecs/av1_temporal_unit.h"
#include "codecs/ffmpeg_format.h"
#include "vdec/base/logging.h"

namespace vdec::codecs {
namespace {

// VP8 has no parser in libavcodec 5.1. AV1's (av1_parser.c) splits nothing: it describes the
// whole temporal unit it is given, so one buffer must be one temporal unit anyway.
bool wholeFramesOnly(CodedFormat format) {
  return format == CodedFormat::kVp8 || format == CodedFormat::kAv1;
}

AvParserPtr makeParser(CodedFormat format) {
  if (wholeFramesOnly(format)) return nullptr;
  return AvParserPtr(av_parser_init(avCodecId(format)));
}

// VP8 frame tag: bit 0 of the first byte is 0 on key frames (RFC 6386, 9.1). AV1: a sequence
// header and a KEY_FRAME (av1_temporal_unit.h).
bool isKeyFrame(CodedFormat format, const uint8_t* data, size_t size) {
  if (format == CodedFormat::kAv1) return inspectAv1TemporalUnit({data, size}).keyFrame;
  return size > 0 && (data[0] & 1) == 0;
}

}  // namespace

Packetizer::Packetizer(CodedFormat format) : format_(format), parser_(makeParser(format)) {}

bool Packetizer::valid() const { return wholeFramesOnly(format_) || parser_ != nullptr; }

void Packetizer::start(InputChunk input) {
  parsedIn_ += input.bytes.size();
  stamps_.push_back(StampedRange{parsedIn_, input.timestamp});
  currentSize_ = input.bytes.size();
  currentOffset_ = 0;
  current_ = std::move(input);
}

// A padded, owned copy of `size` bytes (libavcodec may read AV_INPUT_BUFFER_PADDING_SIZE past
// the end; av_new_packet zeroes that padding), numbered and stamped.
ParsedPacket Packetizer::number(const uint8_t* data, int size, uint64_t timestamp, bool keyFrame,
                               bool field) {
  ParsedPacket parsed;
  parsed.packet.reset(av_packet_alloc());
  if (!parsed.packet || av_new_packet(parsed.packet.get(), size) < 0) {
    parsed.packet.reset();
    return parsed;
  }
  std::memcpy(parsed.packet->data, data, static_cast<size_t>(size));
  parsed.seq = nextSeq_++;
  parsed.packet->pts = static_cast<int64_t>(parsed.seq);
  parsed.keyFrame = keyFrame;
  if (keyFrame) parsed.packet->flags |= AV_PKT_FLAG_KEY;
  const bool secondField = field && openField_;
  openField_ = field && !secondField;
  packets_.push_back(PacketInfo{timestamp, secondField});
  while (packets_.size() > kTrackedPackets) {
    packets_.pop_front();
    ++firstTracked_;
  }
  return parsed;
}

std::optional<ParsedPacket> Packetizer::takeParsed(const uint8_t* data, int size) {
  while (!stamps_.empty() && stamps_.front().end <= parsedOut_) stamps_.pop_front();
  if (!stamps_.empty()) lastTimestamp_ = stamps_.front().timestamp;
  parsedOut_ += static_cast<uint64_t>(size);
  // The parser describes the frame it just returned.
  const bool keyFrame = parser_ != nullptr && parser_->key_frame == 1;
  const bool field = parser_ != nullptr &&
                     (parser_->picture_structure == AV_PICTURE_STRUCTURE_TOP_FIELD ||
                      parser_->picture_structure == AV_PICTURE_STRUCTURE_BOTTOM_FIELD);
  ParsedPacket parsed = number(data, size, lastTimestamp_, keyFrame, field);
  if (!parsed.packet) return std::nullopt;
  return parsed;
}

void Packetizer::finishInput() {
  parsedInputs_.push_back(ParsedInput{current_->id, nextSeq_ - 1});
  current_.reset();
}

std::optional<ParsedPacket> Packetizer::parseStep(AVCodecContext& context) {
  if (!current_) return std::nullopt;
  std::vector<uint8_t>& bytes = current_->bytes;
  const size_t size = currentSize_;
  std::optional<ParsedPacket> result;
  if (!parser_) {
    // One buffer is one frame.
    parsedOut_ += size;
    if (format_ == CodedFormat::kAv1 && !inspectAv1TemporalUnit({bytes.data(), size}).wellFormed) {
      // libdav1d refuses such a unit whole, and one that held a key frame's sequence header
      // leaves it refusing every later unit too (until a flush): never sent.
      logs::codecs().debug("input {}: OBU sizes overrun the {}-byte temporal unit; skipped",
                           current_->id, size);
    } else if (size <= kMaxPacketSize) {
      ParsedPacket parsed = number(bytes.data(), static_cast<int>(size), current_->timestamp,
                                   isKeyFrame(format_, bytes.data(), size), false);
      if (parsed.packet) result = std::move(parsed);
    } else {
      logs::codecs().debug("input {} of {} bytes is too large for one frame; skipped",
                           current_->id, size);
    }
    finishInput();
    return result;
  }
  // The parser reads (and copies) up to AV_INPUT_BUFFER_PADDING_SIZE bytes past its input.
  if (bytes.size() == size) bytes.resize(size + AV_INPUT_BUFFER_PADDING_SIZE, 0);
  const size_t chunk = std::min(size - currentOffset_, kMaxParseChunk);
  uint8_t* out = nullptr;
  int outSize = 0;
  const int used = parse(context, &out, &outSize, bytes.data() + currentOffset_,
                         static_cast<int>(chunk));
  if (outSize > 0) result = takeParsed(out, outSize);
  if (used < 0 || (used == 0 && outSize == 0)) {
    logs::codecs().debug("parser stuck on input {}; skipping the rest of it", current_->id);
    currentOffset_ = size;
  } else {
    currentOffset_ += static_cast<size_t>(used);
  }
  if (currentOffset_ >= size) finishInput();
  return result;
}

std::optional<ParsedPacket> Packetizer::finish(AVCodecContext& context) {
  std::optional<ParsedPacket> result;
  if (parser_) {
    uint8_t* out = nullptr;
    int outSize = 0;
    parse(context, &out, &outSize, nullptr, 0);
    if (outSize > 0) result = takeParsed(out, outSize);
    // libavcodec has no parser reset: a new parser starts the next frame cleanly.
    parser_ = makeParser(format_);
  }
  stamps_.clear();
  parsedIn_ = 0;
  parsedOut_ = 0;
  return result;
}

std::vector<uint32_t> Packetizer::takeConsumed(uint64_t lastSentSeq) {
  std::vector<uint32_t> ids;
  while (!parsedInputs_.empty() && parsedInputs_.front().watermark <= lastSentSeq) {
    ids.push_back(parsedInputs_.front().id);
    parsedInputs_.pop_front();
  }
  return ids;
}

int Packetizer::parse(AVCodecContext& context, uint8_t** out, int* outSize, const uint8_t* data,
                      int size) {
  const int64_t packetNumber = context.reordered_opaque;
  context.reordered_opaque = AV_NOPTS_VALUE;
  const int used = av_parser_parse2(parser_.get(), &context, out, outSize, data, size,
                                    AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0);
  context.reordered_opaque = packetNumber;
  return used;
}

const Packetizer::PacketInfo* Packetizer::infoOf(int64_t pts) const {
  if (pts < static_cast<int64_t>(firstTracked_)) return nullptr;
  const auto index = static_cast<uint64_t>(pts) - firstTracked_;
  return index < packets_.size() ? &packets_[index] : nullptr;
}

uint64_t Packetizer::timestampOf(int64_t pts) const {
  const PacketInfo* info = infoOf(pts);
  return info != nullptr ? info->timestamp : 0;
}

bool Packetizer::secondField(int64_t pts) const {
  const PacketInfo* info = infoOf(pts);
  return info != nullptr && info->secondField;
}

std::vector<uint32_t> Packetizer::reset() {
  std::vector<uint32_t> ids;
  for (const ParsedInput& input : parsedInputs_) ids.push_back(input.id);
  parsedInputs_.clear();
  if (current_) ids.push_back(current_->id);
  current_.reset();
  if (parser_) parser_ = makeParser(format_);
  stamps_.clear();
  parsedIn_ = 0;
  parsedOut_ = 0;
  openField_ = false;
  return ids;
}

}  // namespace vdec::codecs
