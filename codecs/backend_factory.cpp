// SPDX-License-Identifier: MIT
#include "codecs/backend_factory.h"

#include <algorithm>

#include "codecs/ffmpeg_backend.h"
#include "vdec/base/logging.h"

#ifdef VDEC_HAVE_VAAPI
#include "codecs/vaapi_backend.h"
#endif

namespace vdec::codecs {
namespace {

template <typename T>
void addUnique(std::vector<T>& into, const std::vector<T>& values) {
  for (T v : values) {
    if (std::find(into.begin(), into.end(), v) == into.end()) into.push_back(v);
  }
  std::sort(into.begin(), into.end());
}

Result<std::shared_ptr<DecoderBackend>> makeVaapi(const std::string& renderNode) {
#ifdef VDEC_HAVE_VAAPI
  VDEC_ASSIGN_OR_RETURN(auto backend, VaapiBackend::create(renderNode));
  return std::shared_ptr<DecoderBackend>(std::move(backend));
#else
  (void)renderNode;
  return makeError(ErrorCode::kUnsupported,
                   "this build has no VA-API support (libva/libdrm were not found at build time)");
#endif
}

}  // namespace

std::vector<CodecCapability> mergeCapabilities(const std::vector<CodecCapability>& a,
                                               const std::vector<CodecCapability>& b) {
  std::vector<CodecCapability> merged = a;
  for (const CodecCapability& cap : b) {
    auto it = std::find_if(merged.begin(), merged.end(),
                           [&](const CodecCapability& m) { return m.format == cap.format; });
    if (it == merged.end()) {
      merged.push_back(cap);
      continue;
    }
    addUnique(it->profiles, cap.profiles);
    addUnique(it->levels, cap.levels);
    it->minWidth = std::min(it->minWidth, cap.minWidth);
    it->minHeight = std::min(it->minHeight, cap.minHeight);
    it->maxWidth = std::max(it->maxWidth, cap.maxWidth);
    it->maxHeight = std::max(it->maxHeight, cap.maxHeight);
  }
  return merged;
}

AutoBackend::AutoBackend(std::shared_ptr<DecoderBackend> hardware,
                         std::shared_ptr<DecoderBackend> software)
    : hardware_(std::move(hardware)), software_(std::move(software)) {}

std::string AutoBackend::name() const {
  return fmt::format("auto ({}, {})", hardware_->name(), software_->name());
}

std::vector<CodecCapability> AutoBackend::capabilities() const {
  return mergeCapabilities(hardware_->capabilities(), software_->capabilities());
}

std::vector<buffers::PixelFormat> AutoBackend::outputFormats() const {
  return software_->outputFormats();
}

bool AutoBackend::hardwareDecodes(CodedFormat format) const {
  const std::vector<CodecCapability> caps = hardware_->capabilities();
  return std::any_of(caps.begin(), caps.end(),
                     [format](const CodecCapability& c) { return c.format == format; });
}

Result<std::unique_ptr<DecoderSession>> AutoBackend::createSession(CodedFormat format,
                                                                   const SessionOptions& options) {
  if (hardwareDecodes(format)) {
    auto session = hardware_->createSession(format, options);
    if (session) {
      logs::codecs().info("auto: {} stream on {}", codedFormatName(format), hardware_->name());
      return session;
    }
    logs::codecs().warn("auto: {} session for {} failed ({}); decoding in software",
                        hardware_->name(), codedFormatName(format), session.error().message);
  } else {
    logs::codecs().info("auto: {} does not decode {}; decoding in software", hardware_->name(),
                        codedFormatName(format));
  }
  return software_->createSession(format, options);
}

Result<BackendSelection> makeBackend(const std::string& name, const std::string& renderNode) {
  if (name == "ffmpeg") {
    return BackendSelection{std::make_shared<FfmpegBackend>(), "software decoding (--backend ffmpeg)"};
  }
  if (name == "vaapi") {
    auto vaapi = makeVaapi(renderNode);
    if (!vaapi) {
      return makeError(ErrorCode::kUnsupported, "--backend vaapi: VA-API unavailable: {}",
                       vaapi.error().message);
    }
    return BackendSelection{std::move(*vaapi), "VA-API hardware decoding (--backend vaapi)"};
  }
  if (name != "auto") {
    return makeError(ErrorCode::kInvalidParameter, "unknown backend '{}' (auto, ffmpeg, vaapi)",
                     name);
  }
  auto software = std::make_shared<FfmpegBackend>();
  auto vaapi = makeVaapi(renderNode);
  if (!vaapi) {
    return BackendSelection{std::move(software),
                            fmt::format("VA-API unavailable: {}; software decoding (ffmpeg)",
                                        vaapi.error().message)};
  }
  return BackendSelection{std::make_shared<AutoBackend>(std::move(*vaapi), std::move(software)),
                          "VA-API where the driver decodes the stream, software otherwise"};
}

}  // namespace vdec::codecs
