// SPDX-License-Identifier: MIT
// sliceHeadCut: how much of an Annex B H.264/HEVC access unit the format probe needs: every NAL
// unit before the first coded slice (parameter sets, SEI) and the start of that slice, which
// holds its slice header. libavcodec sets the stream's format, allocates the picture (with its
// crop) and fixes the reordering delay from the headers; the slice data it then fails to decode
// is not needed for the format. Decoding a cut access unit costs well under a millisecond where
// the whole key frame costs tens (docs/benchmarks.md, "Time to first frame").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

extern "C" {
#include <libavcodec/codec_id.h>
}

namespace vdec::codecs {

// Bytes of the first coded slice kept from its start code on: the largest slice header
// (reference list modification, weighted prediction tables, MMCO, with emulation prevention)
// fits with room to spare.
inline constexpr size_t kSliceHeadBytes = 1024;

// The length of the prefix of `accessUnit` that ends kSliceHeadBytes into its first coded slice
// NAL unit (H.264 nal_unit_type 1..5, HEVC 0..31), found by its start code (00 00 01). nullopt
// when there is nothing to cut: another codec, no coded slice NAL unit, or one that ends within
// kSliceHeadBytes (the access unit is fed whole). Never reads outside `accessUnit`; any content
// is valid input.
std::optional<size_t> sliceHeadCut(AVCodecID codec, std::span<const uint8_t> accessUnit);

}  // namespace vdec::codecs
