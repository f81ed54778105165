// SPDX-License-Identifier: MIT
// Codec profiles and levels as the codec layer names them. The device core (vdec/formats.h)
// maps them to virtio-video wire values; codecs/ knows no wire protocol.
#pragma once

#include <cstdint>
#include <vector>

namespace vdec::codecs {

// Declared in the order of their virtio-video values, so sorting either gives the same order
// (profiles without a virtio-video value come last).
enum class CodecProfile : uint8_t {
  kH264Baseline,  // also ConstrainedBaseline
  kH264Main,
  kH264Extended,
  kH264High,
  kHevcMain,
  kHevcMain10,
  kHevcMainStillPicture,
  kVp8Profile0,
  kVp8Profile1,
  kVp8Profile2,
  kVp8Profile3,
  kVp9Profile0,
  kVp9Profile1,
  kVp9Profile2,
  kVp9Profile3,
  // AV1 (no virtio-video values: virtio-media only). Main is 8/10-bit 4:2:0 (only 8-bit
  // decodes), High adds 4:4:4, Professional 4:2:2 and 12-bit.
  kAv1Main,
  kAv1High,
  kAv1Professional,
};

// H.264 levels (the only codec whose levels a capability lists), in increasing order.
enum class CodecLevel : uint8_t {
  kH264_1_0,
  kH264_1_1,
  kH264_1_2,
  kH264_1_3,
  kH264_2_0,
  kH264_2_1,
  kH264_2_2,
  kH264_3_0,
  kH264_3_1,
  kH264_3_2,
  kH264_4_0,
  kH264_4_1,
  kH264_4_2,
  kH264_5_0,
  kH264_5_1,
};

// Every H.264 level from 1.0 to 5.1, in increasing order (what both backends decode).
inline std::vector<CodecLevel> allH264Levels() {
  std::vector<CodecLevel> levels;
  for (auto l = static_cast<uint8_t>(CodecLevel::kH264_1_0);
       l <= static_cast<uint8_t>(CodecLevel::kH264_5_1); ++l) {
    levels.push_back(static_cast<CodecLevel>(l));
  }
  return levels;
}

}  // namespace vdec::codecs
