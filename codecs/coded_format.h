// SPDX-License-Identifier: MIT
// Coded (compressed) formats the decoder backends know.
#pragma once

#include <optional>
#include <string_view>

namespace vdec::codecs {

// kAv1 has no virtio-video format: only the virtio-media device offers it.
enum class CodedFormat { kH264, kHevc, kVp8, kVp9, kAv1 };

std::string_view codedFormatName(CodedFormat format);
std::optional<CodedFormat> parseCodedFormat(std::string_view name);  // "h264", "hevc", "vp8", "vp9", "av1"

}  // namespace vdec::codecs
