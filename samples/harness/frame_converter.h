// SPDX-License-Identifier: MIT
// Frame extraction: the visible area of a decoded picture in an output resource, repacked
// losslessly (no scaling, chroma reshuffled only) into a dump format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "buffers/frame_layout.h"
#include "vdec/base/result.h"
#include "vdec/protocol/virtio_video.h"

namespace vdec::harness {

// Formats frames are dumped and checksummed in (the conformance pix_fmt names).
enum class DumpFormat {
  kYuv420p,  // Y, then U, then V; chroma (w+1)/2 x (h+1)/2
  kNv12,     // Y, then interleaved UV
};

std::string_view dumpFormatName(DumpFormat format);
std::optional<DumpFormat> parseDumpFormat(std::string_view name);  // "yuv420p", "nv12"

// A visible picture, tightly packed (no stride padding).
struct PackedFrame {
  DumpFormat format = DumpFormat::kYuv420p;
  uint32_t width = 0;
  uint32_t height = 0;
  std::vector<std::byte> bytes;
};

// The layout the device announced in GET_PARAMS_EXT(OUTPUT): raw format, frame size, component
// plane sizes/strides (planes follow each other in one buffer) and crop. A zero crop means the
// whole frame. Fails on a coded or unknown format, or sizes that do not add up.
Result<buffers::FrameLayout> layoutFromParams(const wire::virtio_video_params& params);

// Copies layout.visible out of `resource` (the resource's bytes from offset 0) into `out`,
// reusing its storage. Crop offsets are applied exactly: chroma starts at (left/2, top/2) and
// covers ceil(width/2) x ceil(height/2), as libavcodec with AV_CODEC_FLAG_UNALIGNED does.
// Fails if a plane would be read outside `resource`.
Status packVisibleFrame(std::span<const std::byte> resource, const buffers::FrameLayout& layout,
                        DumpFormat format, PackedFrame& out);

}  // namespace vdec::harness
