// SPDX-License-Identifier: MIT
#include "buffers/va_blitter.h"

#include <va/va_vpp.h>

#include "buffers/va_surface.h"
#include "vdec/base/logging.h"

namespace vdec::buffers {
namespace {

// One parameter buffer, destroyed when it goes out of scope.
class ScopedVaBuffer {
 public:
  ScopedVaBuffer(VADisplay display, VABufferID id) : display_(display), id_(id) {}
  ~ScopedVaBuffer() {
    if (id_ != VA_INVALID_ID) vaDestroyBuffer(display_, id_);
  }
  ScopedVaBuffer(const ScopedVaBuffer&) = delete;
  ScopedVaBuffer& operator=(const ScopedVaBuffer&) = delete;
  VABufferID* id() { return &id_; }

 private:
  VADisplay display_;
  VABufferID id_;
};

}  // namespace

Result<std::unique_ptr<VaBlitter>> VaBlitter::create(std::shared_ptr<VaDisplay> display) {
  if (!display->supportsVideoProcessing()) {
    return makeError(ErrorCode::kUnsupported, "VA driver has no video processing entrypoint");
  }
  std::unique_ptr<VaBlitter> blitter(new VaBlitter(display));
  if (VAStatus s = vaCreateConfig(display->get(), VAProfileNone, VAEntrypointVideoProc, nullptr, 0,
                                  &blitter->config_);
      s != VA_STATUS_SUCCESS) {
    blitter->config_ = VA_INVALID_ID;
    return makeError(ErrorCode::kUnsupported, "{}", vaCallError("vaCreateConfig(VideoProc)", s));
  }
  // No render targets and no size: VPP contexts take any output surface.
  if (VAStatus s = vaCreateContext(display->get(), blitter->config_, 0, 0, VA_PROGRESSIVE, nullptr,
                                   0, &blitter->context_);
      s != VA_STATUS_SUCCESS) {
    blitter->context_ = VA_INVALID_ID;
    return makeError(ErrorCode::kUnsupported, "{}", vaCallError("vaCreateContext(VideoProc)", s));
  }
  return blitter;
}

VaBlitter::~VaBlitter() {
  if (context_ != VA_INVALID_ID) vaDestroyContext(display_->get(), context_);
  if (config_ != VA_INVALID_ID) vaDestroyConfig(display_->get(), config_);
}

Status VaBlitter::blit(VASurfaceID src, VASurfaceID dst, const Rect& region) {
  VADisplay display = display_->get();
  const VARectangle rect{static_cast<int16_t>(region.left), static_cast<int16_t>(region.top),
                         static_cast<uint16_t>(region.width), static_cast<uint16_t>(region.height)};
  VAProcPipelineParameterBuffer params{};
  params.surface = src;
  params.surface_region = &rect;
  params.output_region = &rect;
  params.output_background_color = 0xff000000;
  params.filter_flags = VA_FRAME_PICTURE;
  ScopedVaBuffer buffer(display, VA_INVALID_ID);
  if (VAStatus s = vaCreateBuffer(display, context_, VAProcPipelineParameterBufferType,
                                  sizeof(params), 1, &params, buffer.id());
      s != VA_STATUS_SUCCESS) {
    return makeError(ErrorCode::kBackendFailure, "{}", vaCallError("vaCreateBuffer(VPP)", s));
  }
  if (VAStatus s = vaBeginPicture(display, context_, dst); s != VA_STATUS_SUCCESS) {
    return makeError(ErrorCode::kBackendFailure, "{}", vaCallError("vaBeginPicture(VPP)", s));
  }
  VAStatus rendered = vaRenderPicture(display, context_, buffer.id(), 1);
  // vaEndPicture() also after a failed vaRenderPicture(): it closes the picture begun above.
  VAStatus ended = vaEndPicture(display, context_);
  if (rendered != VA_STATUS_SUCCESS) {
    return makeError(ErrorCode::kBackendFailure, "{}", vaCallError("vaRenderPicture(VPP)", rendered));
  }
  if (ended != VA_STATUS_SUCCESS) {
    return makeError(ErrorCode::kBackendFailure, "{}", vaCallError("vaEndPicture(VPP)", ended));
  }
  return syncSurface(*display_, dst);
}

}  // namespace vdec::buffers
