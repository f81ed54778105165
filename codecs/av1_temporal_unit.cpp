// SPDX-License-Identifier: MIT
#include "codecs/av1_temporal_unit.h"

#include <optional>

namespace vdec::codecs {
namespace {

// OBU types (AV1 section 6.2.2).
constexpr unsigned kObuSequenceHeader = 1;
constexpr unsigned kObuFrameHeader = 3;
constexpr unsigned kObuFrame = 6;
constexpr unsigned kKeyFrame = 0;  // frame_type (section 6.8.2)

// leb128() of section 4.10.5: at most 8 bytes, a value below 2^32. Advances `offset`.
std::optional<uint64_t> readLeb128(std::span<const uint8_t> bytes, size_t& offset) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    if (offset >= bytes.size()) return std::nullopt;
    const uint8_t byte = bytes[offset++];
    value |= uint64_t{byte & 0x7fu} << (7 * i);
    if ((byte & 0x80) == 0) {
      if (value > 0xffff'ffffu) return std::nullopt;
      return value;
    }
  }
  return std::nullopt;  // a ninth byte would be needed
}

}  // namespace

Av1TemporalUnitInfo inspectAv1TemporalUnit(std::span<const uint8_t> bytes) {
  Av1TemporalUnitInfo info;
  const auto malformed = [&info] {
    info.keyFrame = false;  // decoding does not (re)start at a broken unit
    return info;
  };
  bool reducedStillPicture = false;
  bool frameHeaderSeen = false;
  size_t offset = 0;
  while (offset < bytes.size()) {
    const uint8_t header = bytes[offset++];
    if ((header & 0x80) != 0) return malformed();  // obu_forbidden_bit
    const unsigned type = (header >> 3) & 0xf;
    const bool extension = (header & 0x04) != 0;
    const bool hasSize = (header & 0x02) != 0;
    if (extension) {
      if (offset >= bytes.size()) return malformed();
      ++offset;  // temporal_id, spatial_id
    }
    uint64_t size = bytes.size() - offset;
    if (hasSize) {
      const std::optional<uint64_t> coded = readLeb128(bytes, offset);
      if (!coded || *coded > bytes.size() - offset) return malformed();
      size = *coded;
    }
    const std::span<const uint8_t> payload = bytes.subspan(offset, static_cast<size_t>(size));
    offset += static_cast<size_t>(size);
    ++info.obuCount;
    if (type == kObuSequenceHeader && !frameHeaderSeen && !payload.empty()) {
      // seq_profile f(3), still_picture f(1), reduced_still_picture_header f(1).
      info.sequenceHeader = true;
      reducedStillPicture = (payload[0] & 0x08) != 0;
    }
    if ((type == kObuFrameHeader || type == kObuFrame) && !frameHeaderSeen) {
      frameHeaderSeen = true;
      if (reducedStillPicture && info.sequenceHeader) {
        info.keyFrame = true;
      } else if (!payload.empty()) {
        // show_existing_frame f(1), then frame_type f(2).
        info.showExistingFrame = (payload[0] & 0x80) != 0;
        info.keyFrame = info.sequenceHeader && !info.showExistingFrame &&
                        ((payload[0] >> 5) & 3) == kKeyFrame;
      }
    }
  }
  info.wellFormed = true;
  return info;
}

}  // namespace vdec::codecs
