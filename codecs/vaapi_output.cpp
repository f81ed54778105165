// SPDX-License-Identifier: MIT
#include "codecs/vaapi_output.h"

#include <algorithm>

#include "buffers/frame_writer.h"
#include "buffers/udmabuf.h"
#include "buffers/va_dma_buf_source.h"
#include "buffers/va_image.h"
#include "buffers/va_import.h"
#include "vdec/base/logging.h"

extern "C" {
#include <libavutil/pixfmt.h>
}

namespace vdec::codecs {
namespace {

VASurfaceID surfaceOf(const AVFrame& frame) {
  return static_cast<VASurfaceID>(reinterpret_cast<uintptr_t>(frame.data[3]));
}

}  // namespace

VaapiOutput::VaapiOutput(std::shared_ptr<buffers::VaDisplay> display, bool forceBounce)
    : display_(std::move(display)),
      forceBounce_(forceBounce),
      udmabufAvailable_(buffers::Udmabuf::isAvailable()) {}

VaTargetPlan VaapiOutput::plan(buffers::ResourceMemory& memory, const buffers::FrameLayout& layout,
                               uint32_t codedWidth, uint32_t codedHeight, bool softwareFrames) {
  VaTargetPlan plan;
  if (softwareFrames) {
    plan.decision = {buffers::OutputPath::kBounce,
                     "VA-API cannot decode this stream; software decoding, CPU copy"};
    return plan;
  }
  buffers::OutputPathPolicy policy;
  policy.forceBounce = forceBounce_;
  policy.softwareDecoder = false;
  policy.udmabufAvailable = udmabufAvailable_;
  // Whether the stream has enough buffers is judged per picture (VaapiSession hands imported
  // surfaces to the decoder only then); a resource that could take direct decoding is planned
  // as such.
  policy.enoughBuffers = true;
  std::string detail;
  auto* source = dynamic_cast<buffers::DmaBufSource*>(&memory);
  if (forceBounce_ || layout.totalSize() > memory.size()) {
    // decideOutputPath says why; importing would be pointless.
  } else if (source == nullptr) {
    detail = fmt::format("{} has no dma-buf attached", memory.kind());
  } else if (auto dmaBuf = source->dmaBuf(); !dmaBuf) {
    detail = dmaBuf.error().message;
  } else if (auto surface = buffers::importDmaBufSurface(display_, *dmaBuf, layout); !surface) {
    detail = surface.error().message;
  } else {
    plan.surface = std::move(*surface);
    if (layout.format != buffers::PixelFormat::kNv12) {
      detail = fmt::format("the decoder writes NV12, the guest asked for {}",
                           buffers::pixelFormatName(layout.format));
    } else if (layout.width < codedWidth || layout.height < codedHeight) {
      detail = fmt::format("layout {}x{} is smaller than the coded picture {}x{}", layout.width,
                           layout.height, codedWidth, codedHeight);
    } else {
      plan.decodable = true;
    }
  }
  policy.vaImportsDmaBuf = plan.decodable;
  policy.vaCanBlit = plan.surface != nullptr && display_->supportsVideoProcessing() && !blitterFailed_;
  plan.decision = buffers::decideOutputPath(memory, layout, policy);
  if (!detail.empty()) plan.decision.reason += fmt::format(" ({})", detail);
  return plan;
}

Result<VaCopyResult> VaapiOutput::copy(const AVFrame& frame, buffers::ResourceMemory& memory,
                                       const buffers::FrameLayout& layout, VaTargetPlan& plan) {
  if (frame.format != AV_PIX_FMT_VAAPI) {
    VDEC_ASSIGN_OR_RETURN(uint64_t bytes, bounceSoftware(frame, memory, layout));
    return VaCopyResult{buffers::OutputPath::kBounce, bytes};
  }
  if (plan.decision.path != buffers::OutputPath::kBounce && plan.surface != nullptr) {
    if (buffers::VaBlitter* vpp = blitter()) {
      const buffers::Rect region{0, 0,
                                 std::min<uint32_t>(static_cast<uint32_t>(frame.width), layout.width),
                                 std::min<uint32_t>(static_cast<uint32_t>(frame.height),
                                                    layout.height)};
      Status blitted = vpp->blit(surfaceOf(frame), plan.surface->id(), region);
      if (blitted) return VaCopyResult{buffers::OutputPath::kBlit, 0};
      logs::codecs().warn("vaapi: VPP blit failed ({}); CPU copies from now on for this resource",
                          blitted.error().message);
      plan.decision = {buffers::OutputPath::kBounce,
                       fmt::format("VPP blit failed: {}", blitted.error().message)};
    }
  }
  VDEC_ASSIGN_OR_RETURN(uint64_t bytes, bounceFromSurface(frame, memory, layout));
  return VaCopyResult{buffers::OutputPath::kBounce, bytes};
}

buffers::VaBlitter* VaapiOutput::blitter() {
  if (!blitter_ && !blitterFailed_) {
    auto created = buffers::VaBlitter::create(display_);
    if (created) {
      blitter_ = std::move(*created);
    } else {
      blitterFailed_ = true;
      logs::codecs().warn("vaapi: no VPP blits: {}", created.error().message);
    }
  }
  return blitter_.get();
}

Result<uint64_t> VaapiOutput::bounceFromSurface(const AVFrame& frame,
                                                buffers::ResourceMemory& memory,
                                                const buffers::FrameLayout& layout) {
  const VASurfaceID surface = surfaceOf(frame);
  VDEC_TRY(buffers::syncSurface(*display_, surface));
  std::unique_ptr<buffers::VaImage> image;
  if (!deriveFailed_) {
    auto derived = buffers::VaImage::derive(display_, surface);
    if (derived) {
      image = std::move(*derived);
    } else {
      // Tiled or compressed surfaces cannot be derived; the driver copies with vaGetImage.
      deriveFailed_ = true;
      logs::codecs().debug("vaapi: {}; using vaGetImage()", derived.error().message);
    }
  }
  if (!image) {
    VDEC_ASSIGN_OR_RETURN(image, buffers::VaImage::read(display_, surface,
                                                        static_cast<uint32_t>(frame.width),
                                                        static_cast<uint32_t>(frame.height)));
  }
  VDEC_ASSIGN_OR_RETURN(buffers::ImagePlanes planes, image->planes());
  planes.width = std::min<uint32_t>(planes.width, static_cast<uint32_t>(frame.width));
  planes.height = std::min<uint32_t>(planes.height, static_cast<uint32_t>(frame.height));
  memory.beginCpuAccess();
  Result<uint64_t> written = buffers::copyImageToLayout(planes, memory, layout);
  memory.endCpuAccess();
  return written;
}

Result<uint64_t> VaapiOutput::bounceSoftware(const AVFrame& frame, buffers::ResourceMemory& memory,
                                             const buffers::FrameLayout& layout) {
  buffers::PlanarPicture picture;
  for (int i = 0; i < 3; ++i) {
    picture.planes[i] = frame.data[i];
    picture.strides[i] = frame.linesize[i];
  }
  picture.width = std::min<uint32_t>(static_cast<uint32_t>(frame.width), layout.width);
  picture.height = std::min<uint32_t>(static_cast<uint32_t>(frame.height), layout.height);
  return buffers::writePicture(memory, layout, picture);  // brackets CPU access itself
}

}  // namespace vdec::codecs
