// SPDX-License-Identifier: MIT
#include "codecs/vaapi_engine.h"

#include <algorithm>
#include <utility>

#include "vdec/base/logging.h"

extern "C" {
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
}

namespace vdec::codecs {
namespace {

// What VA drivers ask of a surface they decode into or import: pitches of 256 bytes cover
// Intel (128) and AMD (256); 32-row heights cover the tiling of both.
constexpr uint32_t kVaStrideAlign = 256;
constexpr uint32_t kVaHeightAlign = 32;

VASurfaceID surfaceOf(const AVFrame& frame) {
  return static_cast<VASurfaceID>(reinterpret_cast<uintptr_t>(frame.data[3]));
}

bool hasVaapiHwaccel(const AVCodec& codec) {
  for (int i = 0;; ++i) {
    const AVCodecHWConfig* config = avcodec_get_hw_config(&codec, i);
    if (config == nullptr) return false;
    if (config->device_type == AV_HWDEVICE_TYPE_VAAPI &&
        (config->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) != 0) {
      return true;
    }
  }
}

}  // namespace

// Keeps the slot (for its reference count) and the surface alive while libavcodec uses it.
struct VaapiEngine::SurfaceLease {
  std::shared_ptr<Slot> slot;
  std::shared_ptr<buffers::VaSurface> surface;
};

Result<std::unique_ptr<VaapiEngine>> VaapiEngine::create(
    std::shared_ptr<buffers::VaDisplay> display, AVBufferRef* device, CodedFormat format,
    const SessionOptions& options) {
  if (!display || device == nullptr) {
    return makeError(ErrorCode::kInvalidParameter, "no VA display");
  }
  const AVCodec* codec = avcodec_find_decoder(avCodecId(format));
  if (codec == nullptr) {
    return makeError(ErrorCode::kUnsupported, "libavcodec has no {} decoder",
                     codedFormatName(format));
  }
  if (!hasVaapiHwaccel(*codec)) {
    return makeError(ErrorCode::kUnsupported, "libavcodec's {} decoder has no VAAPI hwaccel",
                     codec->name);
  }
  AvCodecContextPtr context(avcodec_alloc_context3(codec));
  if (!context) return makeError(ErrorCode::kOutOfMemory, "avcodec_alloc_context3() failed");
  context->hw_device_ctx = av_buffer_ref(device);
  if (context->hw_device_ctx == nullptr) {
    return makeError(ErrorCode::kOutOfMemory, "av_buffer_ref(hw device) failed");
  }
  context->get_format = &VaapiEngine::getFormat;
  context->get_buffer2 = &VaapiEngine::getBuffer;
  context->thread_count = 1;  // the hwaccel decodes serially; the GPU is the parallel part
  context->apply_cropping = 0;  // exact crops, as in the software engine
  followStreamReordering(*context);
  auto engine = std::unique_ptr<VaapiEngine>(
      new VaapiEngine(std::move(display), format, options, std::move(context)));
  if (const int ret = avcodec_open2(engine->context_.get(), codec, nullptr); ret < 0) {
    return makeError(ErrorCode::kBackendFailure, "avcodec_open2({}) failed: {}", codec->name,
                     avErrorString(ret));
  }
  logs::codecs().debug("vaapi: {} session on {}", codec->name, engine->display_->renderNodePath());
  return engine;
}

VaapiEngine::VaapiEngine(std::shared_ptr<buffers::VaDisplay> display, CodedFormat format,
                         SessionOptions options, AvCodecContextPtr context)
    : format_(format),
      options_(std::move(options)),
      display_(display),
      context_(std::move(context)),
      output_(std::move(display), options_.forceBounce) {
  context_->opaque = this;
}

// libavcodec's references are released here: their lease callbacks only touch the slots they
// keep alive.
VaapiEngine::~VaapiEngine() { context_.reset(); }

// ---- libavcodec callbacks (session thread, inside avcodec calls) ----

AVPixelFormat VaapiEngine::getFormat(AVCodecContext* context, const AVPixelFormat* formats) {
  return static_cast<VaapiEngine*>(context->opaque)->chooseFormat(context, formats);
}

AVPixelFormat VaapiEngine::chooseFormat(AVCodecContext* context, const AVPixelFormat* formats) {
  bool offered = false;
  for (const AVPixelFormat* p = formats; *p != AV_PIX_FMT_NONE; ++p) {
    offered = offered || *p == AV_PIX_FMT_VAAPI;
  }
  std::string why;
  if (offered && !software_) {
    Status frames = setUpFrames(context);
    if (frames) {
      std::lock_guard lock(mutex_);
      directBlocked_ = true;  // a new sequence: guest surfaces wait for its layout
      return AV_PIX_FMT_VAAPI;
    }
    why = frames.error().message;
  } else if (!software_) {
    // libavcodec retries without VAAPI when the hwaccel failed to initialize for this profile.
    why = "the VA driver cannot decode this profile";
  }
  if (!software_) {
    logs::codecs().warn("vaapi: {} stream: {}; decoding in software, CPU copies",
                        codedFormatName(format_), why);
    software_ = true;
  }
  // default get_buffer2 would allocate from a hardware frames context if one were left set.
  av_buffer_unref(&context->hw_frames_ctx);
  for (const AVPixelFormat* p = formats; *p != AV_PIX_FMT_NONE; ++p) {
    const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(*p);
    if (desc != nullptr && (desc->flags & AV_PIX_FMT_FLAG_HWACCEL) == 0) return *p;
  }
  return AV_PIX_FMT_NONE;
}

Status VaapiEngine::setUpFrames(AVCodecContext* context) {
  AVBufferRef* frames = nullptr;
  if (const int ret = avcodec_get_hw_frames_parameters(context, context->hw_device_ctx,
                                                       AV_PIX_FMT_VAAPI, &frames);
      ret < 0) {
    return makeError(ErrorCode::kUnsupported, "avcodec_get_hw_frames_parameters() failed: {}",
                     avErrorString(ret));
  }
  auto* framesContext = reinterpret_cast<AVHWFramesContext*>(frames->data);
  if (framesContext->sw_format != AV_PIX_FMT_NV12) {
    const char* name = av_get_pix_fmt_name(framesContext->sw_format);
    av_buffer_unref(&frames);
    return makeError(ErrorCode::kUnsupported, "VA surfaces would be {} (only NV12 is output)",
                     name != nullptr ? name : "unknown");
  }
  // A dynamic pool (no fixed render targets): the decode context then accepts any surface of
  // the display, including the guest's imported ones handed out by getBuffer().
  framesContext->initial_pool_size = 0;
  if (const int ret = av_hwframe_ctx_init(frames); ret < 0) {
    av_buffer_unref(&frames);
    return makeError(ErrorCode::kBackendFailure, "av_hwframe_ctx_init() failed: {}",
                     avErrorString(ret));
  }
  av_buffer_unref(&context->hw_frames_ctx);
  context->hw_frames_ctx = frames;
  return okStatus();
}

int VaapiEngine::getBuffer(AVCodecContext* context, AVFrame* frame, int flags) {
  if (context->pix_fmt != AV_PIX_FMT_VAAPI || context->hw_frames_ctx == nullptr) {
    // The software fallback: host pictures, charged to the stream's budget.
    return static_cast<VaapiEngine*>(context->opaque)->hostFrames_.allocate(context, frame, flags);
  }
  auto* self = static_cast<VaapiEngine*>(context->opaque);
  std::shared_ptr<Slot> slot = self->takeDirectSlot(*context);
  if (!slot) return avcodec_default_get_buffer2(context, frame, flags);  // a driver surface

  auto* lease = new SurfaceLease{slot, slot->plan.surface};
  const VASurfaceID id = lease->surface->id();
  frame->buf[0] = av_buffer_create(reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(id)),
                                   sizeof(id), &VaapiEngine::releaseSurface, lease, 0);
  if (frame->buf[0] == nullptr) {
    releaseSurface(lease, nullptr);
    return AVERROR(ENOMEM);
  }
  frame->hw_frames_ctx = av_buffer_ref(context->hw_frames_ctx);
  if (frame->hw_frames_ctx == nullptr) {
    av_buffer_unref(&frame->buf[0]);  // runs releaseSurface
    return AVERROR(ENOMEM);
  }
  // As hwcontext_vaapi's own get_buffer: the frame has the frames context's size.
  const auto* framesContext = reinterpret_cast<const AVHWFramesContext*>(context->hw_frames_ctx->data);
  frame->data[3] = frame->buf[0]->data;
  frame->format = AV_PIX_FMT_VAAPI;
  frame->width = framesContext->width;
  frame->height = framesContext->height;
  return 0;
}

void VaapiEngine::releaseSurface(void* opaque, uint8_t* /*data*/) {
  auto* lease = static_cast<SurfaceLease*>(opaque);
  lease->slot->decoderRefs.fetch_sub(1);
  delete lease;
}

std::shared_ptr<VaapiEngine::Slot> VaapiEngine::takeDirectSlot(const AVCodecContext& context) {
  std::lock_guard lock(mutex_);
  if (directBlocked_ || !layout_ || options_.forceBounce) return nullptr;
  if (slots_.size() < minBuffers_) {
    if (!fewBuffersLogged_) {
      fewBuffersLogged_ = true;
      logs::codecs().info(
          "vaapi: {} output resources, direct decoding needs {}; decoding into driver surfaces "
          "and copying until there are more",
          slots_.size(), minBuffers_);
    }
    return nullptr;
  }
  for (uint32_t id : lent_) {
    const std::shared_ptr<Slot>& slot = slots_.at(id);
    const VaTargetPlan& plan = slot->plan;
    if (slot->decoderRefs.load() == 0 && slot->planGeneration == layoutGeneration_ &&
        plan.decodable && plan.decision.path == buffers::OutputPath::kDirect &&
        plan.surface->width() >= static_cast<uint32_t>(context.coded_width) &&
        plan.surface->height() >= static_cast<uint32_t>(context.coded_height)) {
      slot->decoderRefs.fetch_add(1);
      return slot;
    }
  }
  return nullptr;
}

// ---- device thread ----

void VaapiEngine::lend(OutputTarget target) {
  std::lock_guard lock(mutex_);
  std::shared_ptr<Slot>& slot = slots_[target.resourceId];
  if (slot && slot->memory != target.memory) slot.reset();  // a new resource under an old id
  if (!slot) {
    slot = std::make_shared<Slot>();
    slot->resourceId = target.resourceId;
    slot->memory = std::move(target.memory);
  }
  if (slot->lent) {
    logs::codecs().debug("vaapi: resource {} queued twice", target.resourceId);
    return;
  }
  slot->lent = true;
  lent_.push_back(target.resourceId);
}

ClearedTargets VaapiEngine::clear() {
  std::lock_guard lock(mutex_);
  ClearedTargets cleared;
  cleared.ids.assign(lent_.begin(), lent_.end());
  lent_.clear();
  for (uint32_t id : cleared.ids) {
    const std::shared_ptr<Slot>& slot = slots_.at(id);
    slot->lent = false;
    if (slot->decoderRefs.load() > 0 && slot->plan.surface) toSettle_.push_back(slot);
  }
  return cleared;
}

// ---- session thread ----

void VaapiEngine::settleCleared(const ClearedTargets& /*cleared*/) {
  std::vector<std::shared_ptr<Slot>> slots;
  {
    std::lock_guard lock(mutex_);
    slots = std::exchange(toSettle_, {});
  }
  for (const std::shared_ptr<Slot>& slot : slots) {
    if (Status synced = slot->plan.surface->sync(); !synced) {
      logs::codecs().debug("vaapi: resource {}: {}", slot->resourceId, synced.error().message);
    }
  }
}

Result<FrameGeometry> VaapiEngine::geometryOf(const AVFrame& frame) const {
  FrameGeometry geometry = frameGeometry(frame);
  if (frame.format == AV_PIX_FMT_VAAPI) {
    const auto* frames = frame.hw_frames_ctx != nullptr
                             ? reinterpret_cast<const AVHWFramesContext*>(frame.hw_frames_ctx->data)
                             : nullptr;
    if (frames == nullptr || frames->sw_format != AV_PIX_FMT_NV12) {
      return makeError(ErrorCode::kUnsupported, "VA frame is not NV12");
    }
  } else {
    VDEC_TRY(checkOutputPixelFormat(frame.format));
  }
  // Hardware and software frames are both 8-bit 4:2:0: a switch is no format change.
  geometry.pixelFormat = AV_PIX_FMT_YUV420P;
  return geometry;
}

void VaapiEngine::describe(const FrameGeometry& /*geometry*/, StreamFormat& format) {
  format.strideAlign = kVaStrideAlign;
  format.heightAlign = kVaHeightAlign;
  std::lock_guard lock(mutex_);
  directBlocked_ = true;
}

void VaapiEngine::applyLayout(const buffers::FrameLayout& layout, uint32_t minBuffers,
                              std::optional<uint32_t> /*guestBuffers*/) {
  std::lock_guard lock(mutex_);
  layout_ = layout;
  ++layoutGeneration_;
  minBuffers_ = minBuffers;
}

// Decides the path of one lent resource for the current layout (imports its dma-buf).
bool VaapiEngine::prepare() {
  std::shared_ptr<Slot> slot;
  uint64_t generation = 0;
  buffers::FrameLayout layout;
  {
    std::lock_guard lock(mutex_);
    if (!layout_) return false;
    for (uint32_t id : lent_) {
      if (slots_.at(id)->planGeneration != layoutGeneration_) {
        slot = slots_.at(id);
        break;
      }
    }
    if (!slot) return false;
    generation = layoutGeneration_;
    layout = *layout_;
  }
  VaTargetPlan plan =
      output_.plan(*slot->memory, layout, static_cast<uint32_t>(context_->coded_width),
                   static_cast<uint32_t>(context_->coded_height), software_);
  std::lock_guard lock(mutex_);
  if (generation == layoutGeneration_) {
    logs::codecs().info("vaapi: resource {}: {} ({})", slot->resourceId,
                        buffers::outputPathName(plan.decision.path), plan.decision.reason);
    slot->plan = std::move(plan);
    slot->planGeneration = generation;
  }
  return true;
}

std::shared_ptr<VaapiEngine::Slot> VaapiEngine::slotOfFrame(const AVFrame& frame) const {
  if (frame.format != AV_PIX_FMT_VAAPI) return nullptr;
  const VASurfaceID id = surfaceOf(frame);
  for (const auto& [resourceId, slot] : slots_) {
    if (slot->plan.surface && slot->plan.surface->id() == id) return slot;
  }
  return nullptr;
}

void VaapiEngine::unlendLocked(uint32_t resourceId) {
  slots_.at(resourceId)->lent = false;
  lent_.erase(std::remove(lent_.begin(), lent_.end(), resourceId), lent_.end());
}

std::optional<PictureReady> VaapiEngine::deliver(const AVFrame& frame,
                                                 const buffers::FrameLayout& layout) {
  std::shared_ptr<Slot> target;
  bool inPlace = false;
  {
    std::lock_guard lock(mutex_);
    // The first picture of the current sequence in its layout: guest surfaces may now be
    // decoded into (a frame of an older frames context would still have the old size).
    if (directBlocked_ && frame.format == AV_PIX_FMT_VAAPI && frame.hw_frames_ctx != nullptr &&
        context_->hw_frames_ctx != nullptr &&
        frame.hw_frames_ctx->data == context_->hw_frames_ctx->data) {
      directBlocked_ = false;
    }
    std::shared_ptr<Slot> slot = slotOfFrame(frame);
    if (slot && slot->lent && slot->planGeneration == layoutGeneration_ && slot->plan.decodable &&
        slot->plan.decision.path == buffers::OutputPath::kDirect) {
      target = slot;
      inPlace = true;
    } else {
      // The oldest lent resource libavcodec does not hold: never overwrite a reference picture.
      for (uint32_t id : lent_) {
        const std::shared_ptr<Slot>& candidate = slots_.at(id);
        if (candidate->decoderRefs.load() == 0 && candidate->planGeneration == layoutGeneration_) {
          target = candidate;
          break;
        }
      }
    }
    if (!target) return std::nullopt;
    unlendLocked(target->resourceId);
  }
  return inPlace ? deliverInPlace(target) : copyInto(frame, layout, target);
}

PictureReady VaapiEngine::deliverInPlace(const std::shared_ptr<Slot>& slot) {
  PictureReady ready{slot->resourceId, 0};
  ready.path = buffers::OutputPath::kDirect;
  // The guest reads the buffer as soon as it gets it: the GPU must be done writing.
  if (Status synced = slot->plan.surface->sync(); !synced) {
    logs::codecs().debug("vaapi: resource {}: {}", slot->resourceId, synced.error().message);
    ready.error = true;
  }
  return ready;
}

PictureReady VaapiEngine::copyInto(const AVFrame& frame, const buffers::FrameLayout& layout,
                                   const std::shared_ptr<Slot>& slot) {
  PictureReady ready{slot->resourceId, 0};
  Result<VaCopyResult> copied = output_.copy(frame, *slot->memory, layout, slot->plan);
  if (copied) {
    ready.path = copied->path;
    ready.bytesCopied = copied->bytesCopied;
  } else {
    logs::codecs().debug("vaapi: resource {}: {}", slot->resourceId, copied.error().message);
    ready.error = true;
  }
  return ready;
}

std::optional<uint32_t> VaapiEngine::takeEndOfStreamTarget() {
  std::lock_guard lock(mutex_);
  if (lent_.empty()) return std::nullopt;
  // Nothing is written into the EOS buffer, so even a resource libavcodec holds would do; one
  // it does not hold is preferred.
  uint32_t resourceId = lent_.front();
  for (uint32_t id : lent_) {
    if (slots_.at(id)->decoderRefs.load() == 0) {
      resourceId = id;
      break;
    }
  }
  unlendLocked(resourceId);
  return resourceId;
}

}  // namespace vdec::codecs
