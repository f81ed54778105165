// SPDX-License-Identifier: MIT
#include "codecs/vaapi_profiles.h"

#include <va/va_str.h>

#include <algorithm>

#include <fmt/format.h>

namespace vdec::codecs {
namespace {

constexpr uint32_t kMinSize = 16;

}  // namespace

std::vector<VaCodecProfile> codecProfilesForVa(VAProfile profile) {
  switch (profile) {
    case VAProfileH264ConstrainedBaseline:
      return {{CodedFormat::kH264, CodecProfile::kH264Baseline}};
    case VAProfileH264Main:
      return {{CodedFormat::kH264, CodecProfile::kH264Main}};
    case VAProfileH264High:
      return {{CodedFormat::kH264, CodecProfile::kH264High}};
    case VAProfileHEVCMain:
      return {{CodedFormat::kHevc, CodecProfile::kHevcMain}};
    case VAProfileVP8Version0_3:
      return {{CodedFormat::kVp8, CodecProfile::kVp8Profile0},
              {CodedFormat::kVp8, CodecProfile::kVp8Profile1},
              {CodedFormat::kVp8, CodecProfile::kVp8Profile2},
              {CodedFormat::kVp8, CodecProfile::kVp8Profile3}};
    case VAProfileVP9Profile0:
      return {{CodedFormat::kVp9, CodecProfile::kVp9Profile0}};
    case VAProfileAV1Profile0:  // Main; Profile1 (High) is 4:4:4, which we do not output
      return {{CodedFormat::kAv1, CodecProfile::kAv1Main}};
    default:
      return {};
  }
}

std::vector<CodecCapability> vaCapabilities(const std::vector<buffers::VaDecodeProfile>& profiles) {
  std::vector<CodecCapability> result;
  for (CodedFormat format : {CodedFormat::kH264, CodedFormat::kHevc, CodedFormat::kVp8,
                             CodedFormat::kVp9, CodedFormat::kAv1}) {
    CodecCapability capability;
    capability.format = format;
    capability.minWidth = kMinSize;
    capability.minHeight = kMinSize;
    capability.maxWidth = 0;
    capability.maxHeight = 0;
    for (const buffers::VaDecodeProfile& va : profiles) {
      for (const VaCodecProfile& mapped : codecProfilesForVa(va.profile)) {
        if (mapped.format != format) continue;
        if (std::find(capability.profiles.begin(), capability.profiles.end(),
                      mapped.profile) == capability.profiles.end()) {
          capability.profiles.push_back(mapped.profile);
        }
        capability.maxWidth = std::max(capability.maxWidth, va.maxWidth);
        capability.maxHeight = std::max(capability.maxHeight, va.maxHeight);
      }
    }
    if (capability.profiles.empty()) continue;
    std::sort(capability.profiles.begin(), capability.profiles.end());
    if (format == CodedFormat::kH264) capability.levels = allH264Levels();
    result.push_back(std::move(capability));
  }
  return result;
}

std::string vaProfileName(VAProfile profile) {
  const char* name = vaProfileStr(profile);
  return name != nullptr ? name : fmt::format("VAProfile({})", static_cast<int>(profile));
}

}  // namespace vdec::codecs
