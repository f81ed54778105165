// SPDX-License-Identifier: MIT
#include "codecs/probe_cut.h"

namespace vdec::codecs {
namespace {

bool codedSlice(AVCodecID codec, uint8_t nalHeader) {
  if (codec == AV_CODEC_ID_H264) {
    const int type = nalHeader & 0x1F;  // ITU-T H.264 7.4.1: 1..5 are slices and partitions
    return type >= 1 && type <= 5;
  }
  return ((nalHeader >> 1) & 0x3F) < 32;  // ITU-T H.265 7.4.2.2: 0..31 are VCL NAL units
}

}  // namespace

std::optional<size_t> probeCut(AVCodecID codec, std::span<const uint8_t> accessUnit) {
  if (codec == AV_CODEC_ID_VP9) {
    if (accessUnit.size() <= kVp9FrameHeadBytes) return std::nullopt;
    return kVp9FrameHeadBytes;
  }
  if (codec != AV_CODEC_ID_H264 && codec != AV_CODEC_ID_HEVC) return std::nullopt;
  const size_t size = accessUnit.size();
  // i + 3 < size: a start code with its NAL header byte inside the buffer.
  for (size_t i = 0; i + 3 < size; ++i) {
    if (accessUnit[i] != 0 || accessUnit[i + 1] != 0 || accessUnit[i + 2] != 1) continue;
    const size_t nal = i + 3;
    if (!codedSlice(codec, accessUnit[nal])) {
      i += 2;  // the NAL header byte may be 0: the next start code cannot begin before it
      continue;
    }
    if (size - nal <= kSliceHeadBytes) return std::nullopt;
    return nal + kSliceHeadBytes;
  }
  return std::nullopt;
}

}  // namespace vdec::codecs
