// SPDX-License-Identifier: MIT
#include "codecs/vaapi_profiles.h"

#include <va/va_str.h>

#include <algorithm>

#include "vdec/protocol/virtio_video.h"

namespace vdec::codecs {
namespace {

constexpr uint32_t kMinSize = 16;

std::vector<uint32_t> h264Levels() {
  std::vector<uint32_t> levels;
  for (uint32_t level = wire::VIRTIO_VIDEO_LEVEL_H264_1_0;
       level <= wire::VIRTIO_VIDEO_LEVEL_H264_5_1; ++level) {
    levels.push_back(level);
  }
  return levels;
}

}  // namespace

std::vector<VaCodecProfile> virtioProfilesForVa(VAProfile profile) {
  switch (profile) {
    case VAProfileH264ConstrainedBaseline:
      return {{CodedFormat::kH264, wire::VIRTIO_VIDEO_PROFILE_H264_BASELINE}};
    case VAProfileH264Main:
      return {{CodedFormat::kH264, wire::VIRTIO_VIDEO_PROFILE_H264_MAIN}};
    case VAProfileH264High:
      return {{CodedFormat::kH264, wire::VIRTIO_VIDEO_PROFILE_H264_HIGH}};
    case VAProfileHEVCMain:
      return {{CodedFormat::kHevc, wire::VIRTIO_VIDEO_PROFILE_HEVC_MAIN}};
    case VAProfileVP8Version0_3: {
      std::vector<VaCodecProfile> vp8;
      for (uint32_t p = wire::VIRTIO_VIDEO_PROFILE_VP8_PROFILE0;
           p <= wire::VIRTIO_VIDEO_PROFILE_VP8_PROFILE3; ++p) {
        vp8.push_back({CodedFormat::kVp8, p});
      }
      return vp8;
    }
    case VAProfileVP9Profile0:
      return {{CodedFormat::kVp9, wire::VIRTIO_VIDEO_PROFILE_VP9_PROFILE0}};
    default:
      return {};
  }
}

std::vector<CodecCapability> vaCapabilities(const std::vector<buffers::VaDecodeProfile>& profiles) {
  std::vector<CodecCapability> result;
  for (CodedFormat format :
       {CodedFormat::kH264, CodedFormat::kHevc, CodedFormat::kVp8, CodedFormat::kVp9}) {
    CodecCapability capability;
    capability.format = format;
    capability.minWidth = kMinSize;
    capability.minHeight = kMinSize;
    capability.maxWidth = 0;
    capability.maxHeight = 0;
    for (const buffers::VaDecodeProfile& va : profiles) {
      for (const VaCodecProfile& mapped : virtioProfilesForVa(va.profile)) {
        if (mapped.format != format) continue;
        if (std::find(capability.profiles.begin(), capability.profiles.end(),
                      mapped.virtioProfile) == capability.profiles.end()) {
          capability.profiles.push_back(mapped.virtioProfile);
        }
        capability.maxWidth = std::max(capability.maxWidth, va.maxWidth);
        capability.maxHeight = std::max(capability.maxHeight, va.maxHeight);
      }
    }
    if (capability.profiles.empty()) continue;
    std::sort(capability.profiles.begin(), capability.profiles.end());
    if (format == CodedFormat::kH264) capability.levels = h264Levels();
    result.push_back(std::move(capability));
  }
  return result;
}

std::string vaProfileName(VAProfile profile) {
  const char* name = vaProfileStr(profile);
  return name != nullptr ? name : fmt::format("VAProfile({})", static_cast<int>(profile));
}

}  // namespace vdec::codecs
