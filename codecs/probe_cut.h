// SPDX-License-Identifier: MIT
// probeCut: how much of an access unit the format probe (FfmpegProbe) needs to be fed.
//
// H.264 and HEVC (Annex B): every NAL unit before the first coded slice (parameter sets, SEI)
// and the start of that slice, which holds its slice header. libavcodec sets the stream's
// format, allocates the picture (with its crop) and fixes the reordering delay from the
// headers; the slice data it then fails to decode is not needed, and the picture still comes
// out (with its geometry) when the probe drains.
// VP9: the start of the frame, which holds the uncompressed header (frame size, bit depth,
// subsampling). libavcodec sets the size and pixel format from it, then fails on the cut
// compressed header; no picture comes out, the probe reads the format from the context
// (VP9 has no crop).
// Decoding a cut access unit costs well under a millisecond where the whole key frame of a
// 1080p clip costs 35 ms (H.264) to 51 ms (VP9) (docs/benchmarks.md, "Follow-up: the probe
// reads headers only").
// VP8 (its size is set only after the first partition is read) and AV1 (libdav1d) are fed
// whole.
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
// Bytes kept of a VP9 frame: its uncompressed header is at most about 100 bytes (with
// segmentation and loop filter deltas).
inline constexpr size_t kVp9FrameHeadBytes = 512;

// The length of the prefix of `accessUnit` the probe is fed: H.264 (nal_unit_type 1..5) and
// HEVC (0..31): up to kSliceHeadBytes into the first coded slice NAL unit, found by its start
// code (00 00 01); VP9: kVp9FrameHeadBytes. nullopt when there is nothing to cut: another
// codec, no coded slice NAL unit, or a unit that ends within those bytes (the access unit is
// fed whole). Never reads outside `accessUnit`; any content is valid input.
std::optional<size_t> probeCut(AVCodecID codec, std::span<const uint8_t> accessUnit);

}  // namespace vdec::codecs
