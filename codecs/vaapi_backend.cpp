// SPDX-License-Identifier: MIT
#include "codecs/vaapi_backend.h"

#include <algorithm>

#include "codecs/ffmpeg_format.h"
#include "codecs/vaapi_profiles.h"
#include "codecs/vaapi_session.h"
#include "vdec/base/logging.h"

extern "C" {
#include <libavutil/buffer.h>
#include <libavutil/hwcontext.h>
#include <libavutil/hwcontext_vaapi.h>
}

namespace vdec::codecs {
namespace {

// FFmpeg's device context borrows our display (av_hwdevice_ctx_create would open a second
// VADisplay, on which the guest's imported surfaces would not exist); it keeps a reference so
// the display outlives every frames context made from it.
void freeDevice(AVHWDeviceContext* device) {
  delete static_cast<std::shared_ptr<buffers::VaDisplay>*>(device->user_opaque);
}

Result<AVBufferRef*> wrapDisplay(const std::shared_ptr<buffers::VaDisplay>& display) {
  AVBufferRef* ref = av_hwdevice_ctx_alloc(AV_HWDEVICE_TYPE_VAAPI);
  if (ref == nullptr) {
    return makeError(ErrorCode::kUnsupported, "av_hwdevice_ctx_alloc(VAAPI) failed (libavutil "
                                              "built without VA-API?)");
  }
  auto* device = reinterpret_cast<AVHWDeviceContext*>(ref->data);
  static_cast<AVVAAPIDeviceContext*>(device->hwctx)->display = display->get();
  device->user_opaque = new std::shared_ptr<buffers::VaDisplay>(display);
  device->free = &freeDevice;
  if (const int ret = av_hwdevice_ctx_init(ref); ret < 0) {
    av_buffer_unref(&ref);
    return makeError(ErrorCode::kUnsupported, "av_hwdevice_ctx_init(VAAPI) failed: {}",
                     avErrorString(ret));
  }
  return ref;
}

}  // namespace

Result<std::shared_ptr<VaapiBackend>> VaapiBackend::create(const std::string& renderNode) {
  VDEC_ASSIGN_OR_RETURN(auto display, buffers::VaDisplay::open(renderNode));
  std::shared_ptr<VaapiBackend> backend(new VaapiBackend());
  backend->capabilities_ = vaCapabilities(display->decodeProfiles());
  if (backend->capabilities_.empty()) {
    return makeError(ErrorCode::kUnsupported,
                     "VA driver '{}' on {} decodes none of the 8-bit 4:2:0 profiles of H.264, "
                     "HEVC, VP8, VP9",
                     display->vendor(), display->renderNodePath());
  }
  VDEC_ASSIGN_OR_RETURN(backend->device_, wrapDisplay(display));
  backend->display_ = std::move(display);
  logs::codecs().info("vaapi: {} ({}), {} coded formats", backend->display_->renderNodePath(),
                      backend->display_->vendor(), backend->capabilities_.size());
  return backend;
}

VaapiBackend::~VaapiBackend() { av_buffer_unref(&device_); }

std::vector<buffers::PixelFormat> VaapiBackend::outputFormats() const {
  return {buffers::PixelFormat::kNv12, buffers::PixelFormat::kI420, buffers::PixelFormat::kYv12};
}

bool VaapiBackend::supports(CodedFormat format) const {
  return std::any_of(capabilities_.begin(), capabilities_.end(),
                     [format](const CodecCapability& c) { return c.format == format; });
}

Result<std::unique_ptr<DecoderSession>> VaapiBackend::createSession(CodedFormat format,
                                                                    const SessionOptions& options) {
  if (!supports(format)) {
    return makeError(ErrorCode::kUnsupported, "VA driver '{}' cannot decode {}",
                     display_->vendor(), codedFormatName(format));
  }
  VDEC_ASSIGN_OR_RETURN(auto session, VaapiSession::create(display_, device_, format, options));
  return std::unique_ptr<DecoderSession>(std::move(session));
}

}  // namespace vdec::codecs
