// SPDX-License-Identifier: MIT
#include "codecs/ffmpeg_backend.h"

#include <algorithm>
#include <array>
#include <optional>

#include "codecs/ffmpeg_format.h"
#include "codecs/ffmpeg_session.h"
#include "vdec/base/logging.h"

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace vdec::codecs {
namespace {

constexpr uint32_t kMinSize = 16;
constexpr uint32_t kMaxSize = 8192;

// libavcodec 5.1's VP8 decoder publishes no profile list; all four VP8 profiles are 8-bit 4:2:0
// (they differ in loop filter and interpolation only).
constexpr std::array<int, 4> kVp8Profiles = {0, 1, 2, 3};

std::vector<CodecProfile> codecProfiles(CodedFormat format, const AVCodec& codec) {
  std::vector<int> avProfiles;
  if (codec.profiles != nullptr) {
    for (const AVProfile* p = codec.profiles; p->profile != FF_PROFILE_UNKNOWN; ++p) {
      avProfiles.push_back(p->profile);
    }
  } else if (format == CodedFormat::kVp8) {
    avProfiles.assign(kVp8Profiles.begin(), kVp8Profiles.end());
  } else if (format == CodedFormat::kAv1) {
    avProfiles.push_back(FF_PROFILE_AV1_MAIN);  // libdav1d decodes every AV1 profile
  }
  std::vector<CodecProfile> profiles;
  for (int avProfile : avProfiles) {
    const std::optional<CodecProfile> profile = codecProfile(format, avProfile);
    if (profile && std::find(profiles.begin(), profiles.end(), *profile) == profiles.end()) {
      profiles.push_back(*profile);
    }
  }
  std::sort(profiles.begin(), profiles.end());
  return profiles;
}

}  // namespace

std::optional<CodecProfile> codecProfile(CodedFormat format, int avProfile) {
  switch (format) {
    case CodedFormat::kH264:
      switch (avProfile) {
        case FF_PROFILE_H264_BASELINE:
        case FF_PROFILE_H264_CONSTRAINED_BASELINE:
          return CodecProfile::kH264Baseline;
        case FF_PROFILE_H264_MAIN:
          return CodecProfile::kH264Main;
        case FF_PROFILE_H264_EXTENDED:
          return CodecProfile::kH264Extended;
        case FF_PROFILE_H264_HIGH:
          return CodecProfile::kH264High;
        default:
          return std::nullopt;
      }
    case CodedFormat::kHevc:
      switch (avProfile) {
        case FF_PROFILE_HEVC_MAIN:
          return CodecProfile::kHevcMain;
        case FF_PROFILE_HEVC_MAIN_STILL_PICTURE:
          return CodecProfile::kHevcMainStillPicture;
        default:
          return std::nullopt;
      }
    case CodedFormat::kVp8:
      if (avProfile >= 0 && avProfile <= 3) {
        return static_cast<CodecProfile>(static_cast<int>(CodecProfile::kVp8Profile0) + avProfile);
      }
      return std::nullopt;
    case CodedFormat::kVp9:
      if (avProfile == FF_PROFILE_VP9_0) return CodecProfile::kVp9Profile0;
      return std::nullopt;
    case CodedFormat::kAv1:
      // Main holds 8-bit 4:2:0 (10-bit streams are refused when their first picture comes);
      // High (4:4:4) and Professional (4:2:2, 12-bit) have no 8-bit 4:2:0 stream.
      if (avProfile == FF_PROFILE_AV1_MAIN) return CodecProfile::kAv1Main;
      return std::nullopt;
  }
  return std::nullopt;
}

std::vector<CodecCapability> FfmpegBackend::capabilities() const {
  std::vector<CodecCapability> result;
  for (CodedFormat format : {CodedFormat::kH264, CodedFormat::kHevc, CodedFormat::kVp8,
                             CodedFormat::kVp9, CodedFormat::kAv1}) {
    const AVCodec* codec = findSoftwareDecoder(avCodecId(format));
    if (codec == nullptr) {
      logs::codecs().info("ffmpeg: no {}: {}", codedFormatName(format),
                          missingDecoderReason(avCodecId(format)));
      continue;
    }
    CodecCapability capability;
    capability.format = format;
    capability.profiles = codecProfiles(format, *codec);
    if (capability.profiles.empty()) {
      logs::codecs().debug("ffmpeg: decoder {} has no 8-bit 4:2:0 profile", codec->name);
      continue;
    }
    if (format == CodedFormat::kH264) capability.levels = allH264Levels();
    capability.minWidth = kMinSize;
    capability.minHeight = kMinSize;
    capability.maxWidth = kMaxSize;
    capability.maxHeight = kMaxSize;
    result.push_back(std::move(capability));
  }
  return result;
}

std::vector<buffers::PixelFormat> FfmpegBackend::outputFormats() const {
  return {buffers::PixelFormat::kNv12, buffers::PixelFormat::kI420, buffers::PixelFormat::kYv12};
}

Result<std::unique_ptr<DecoderSession>> FfmpegBackend::createSession(
    CodedFormat format, const SessionOptions& options) {
  VDEC_ASSIGN_OR_RETURN(auto session, FfmpegSession::create(format, options));
  return std::unique_ptr<DecoderSession>(std::move(session));
}

}  // namespace vdec::codecs
