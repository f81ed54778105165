// SPDX-License-Identifier: MIT
// Mapping between virtio-video format values and the codec/buffer layers' enums, and the
// QUERY_CAPABILITY response built from a backend's capabilities.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "buffers/frame_layout.h"
#include "codecs/decoder_backend.h"
#include "vdec/command.h"

namespace vdec {

std::optional<codecs::CodedFormat> codedFormatFromVirtio(uint32_t format);
// 0 for a format virtio-video has no value for (AV1).
uint32_t virtioFromCodedFormat(codecs::CodedFormat format);
std::optional<buffers::PixelFormat> pixelFormatFromVirtio(uint32_t format);
uint32_t virtioFromPixelFormat(buffers::PixelFormat format);
// VIRTIO_VIDEO_PROFILE_* / VIRTIO_VIDEO_LEVEL_* values; the codec enums list wire values in
// increasing order, so a sorted capability stays sorted on the wire.
uint32_t virtioFromProfile(codecs::CodecProfile profile);
uint32_t virtioFromLevel(codecs::CodecLevel level);

// The capabilities virtio-video can express: those of formats it has a value for (no AV1).
std::vector<codecs::CodecCapability> virtioVideoCodecs(
    const std::vector<codecs::CodecCapability>& codecs);

// The whole QUERY_CAPABILITY response for `queue`: every INPUT desc masks every OUTPUT desc
// (each backend output format can come from each codec) and vice versa. Codecs virtio-video has no
// format for are left out (virtioVideoCodecs). Each desc has exactly
// one frame size range with step 1 and no rates, as the guest driver and v4l2-compliance need.
std::vector<std::byte> buildCapabilityResponse(QueueType queue, uint32_t streamId,
                                               const std::vector<codecs::CodecCapability>& codecs,
                                               const std::vector<buffers::PixelFormat>& outputs);

}  // namespace vdec
