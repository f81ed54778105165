// SPDX-License-Identifier: MIT
// inspectAv1TemporalUnit: what the packetizer needs to know of one AV1 input buffer (is it
// well formed, can decoding start at it), read from its OBU headers without decoding it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vdec::codecs {

// Input contract for AV1 (V4L2 'AV01', as stateful decoders take it): one buffer is one temporal
// unit in the low-overhead bitstream format of AV1 section 5.2 (a temporal delimiter OBU, then
// the OBUs of one presentation time, each with obu_has_size_field = 1; the last OBU may omit its
// size and then runs to the end of the buffer). IVF frames are exactly that; Annex B
// (length-prefixed temporal units) is not taken.
struct Av1TemporalUnitInfo {
  // Every OBU header and size lies inside the buffer, with the forbidden bit clear. A buffer
  // that is not is still handed to the decoder, which reports it (decoding errors are the
  // decoder's to find); this only stops the inspection.
  bool wellFormed = false;
  size_t obuCount = 0;
  bool sequenceHeader = false;  // a sequence header OBU comes before the first frame header
  // The first frame header shows an earlier frame (show_existing_frame = 1): no new picture
  // is decoded, one is output again.
  bool showExistingFrame = false;
  // Decoding can start here without earlier buffers: a sequence header, then a frame header of
  // a KEY_FRAME (reduced still-picture streams: every frame is one).
  bool keyFrame = false;
};

// Reads OBU headers, the sequence header's first five bits and the frame header's first three.
// Never reads outside `bytes`; any content is valid input.
Av1TemporalUnitInfo inspectAv1TemporalUnit(std::span<const uint8_t> bytes);

}  // namespace vdec::codecs
