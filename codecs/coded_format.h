// SPDX-License-Identifier: MIT
// Coded (compressed) formats the decoder backends know.
#pragma once

#include <optional>
#include <string_view>

namespace vdec::codecs {

enum class CodedFormat { kH264, kHevc, kVp8, kVp9 };

std::string_view codedFormatName(CodedFormat format);
std::optional<CodedFormat> parseCodedFormat(std::string_view name);  // "h264", "hevc", ...

}  // namespace vdec::codecs
