// SPDX-License-Identifier: MIT
#include "codecs/coded_format.h"

namespace vdec::codecs {

std::string_view codedFormatName(CodedFormat format) {
  switch (format) {
    case CodedFormat::kH264: return "h264";
    case CodedFormat::kHevc: return "hevc";
    case CodedFormat::kVp8: return "vp8";
    case CodedFormat::kVp9: return "vp9";
    case CodedFormat::kAv1: return "av1";
  }
  return "?";
}

std::optional<CodedFormat> parseCodedFormat(std::string_view name) {
  if (name == "h264") return CodedFormat::kH264;
  if (name == "hevc" || name == "h265") return CodedFormat::kHevc;
  if (name == "vp8") return CodedFormat::kVp8;
  if (name == "vp9") return CodedFormat::kVp9;
  if (name == "av1") return CodedFormat::kAv1;
  return std::nullopt;
}

}  // namespace vdec::codecs
