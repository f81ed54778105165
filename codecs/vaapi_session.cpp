// SPDX-License-Identifier: MIT
#include "codecs/vaapi_session.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "vdec/base/logging.h"

extern "C" {
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
}

namespace vdec::codecs {
namespace {

constexpr size_t kMaxParseChunk = size_t{1} << 20;
constexpr size_t kMaxPacketSize = size_t{64} << 20;
constexpr uint32_t kMaxMinBuffers = 32;
// What VA drivers ask of a surface they decode into or import: pitches of 256 bytes cover
// Intel (128) and AMD (256); 32-row heights cover the tiling of both.
constexpr uint32_t kVaStrideAlign = 256;
constexpr uint32_t kVaHeightAlign = 32;

AvParserPtr makeParser(CodedFormat format) {
  if (format == CodedFormat::kVp8) return nullptr;  // no VP8 parser in libavcodec 5.1
  return AvParserPtr(av_parser_init(avCodecId(format)));
}

AvPacketPtr makePacket(const uint8_t* data, int size, int64_t pts) {
  AvPacketPtr packet(av_packet_alloc());
  if (!packet || av_new_packet(packet.get(), size) < 0) return nullptr;
  std::memcpy(packet->data, data, static_cast<size_t>(size));
  packet->pts = pts;
  return packet;
}

int64_t toPts(uint64_t timestamp) { return std::bit_cast<int64_t>(timestamp); }
uint64_t fromPts(int64_t pts) { return pts == AV_NOPTS_VALUE ? 0 : std::bit_cast<uint64_t>(pts); }

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
struct VaapiSession::SurfaceLease {
  std::shared_ptr<Slot> slot;
  std::shared_ptr<buffers::VaSurface> surface;
};

Result<std::unique_ptr<VaapiSession>> VaapiSession::create(
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
  context->get_format = &VaapiSession::getFormat;
  context->get_buffer2 = &VaapiSession::getBuffer;
  context->thread_count = 1;  // the hwaccel decodes serially; the GPU is the parallel part
  context->apply_cropping = 0;  // exact crops, as in the software session
  auto session = std::unique_ptr<VaapiSession>(
      new VaapiSession(std::move(display), format, options, std::move(context)));
  if (const int ret = avcodec_open2(session->context_.get(), codec, nullptr); ret < 0) {
    return makeError(ErrorCode::kBackendFailure, "avcodec_open2({}) failed: {}", codec->name,
                     avErrorString(ret));
  }
  if (format != CodedFormat::kVp8 && !session->parser_) {
    return makeError(ErrorCode::kBackendFailure, "av_parser_init({}) failed", codec->name);
  }
  session->start();
  logs::codecs().debug("vaapi: {} session on {}", codec->name, session->display_->renderNodePath());
  return session;
}

VaapiSession::VaapiSession(std::shared_ptr<buffers::VaDisplay> display, CodedFormat format,
                           SessionOptions options, AvCodecContextPtr context)
    : format_(format),
      options_(std::move(options)),
      display_(display),
      context_(std::move(context)),
      parser_(makeParser(format)),
      output_(std::move(display), options_.forceBounce) {
  context_->opaque = this;
}

VaapiSession::~VaapiSession() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  workCv_.notify_one();
  if (thread_.joinable()) thread_.join();
  // Frames and libavcodec's references are released here, after the thread: their lease
  // callbacks only touch the slots they keep alive.
  decoded_.clear();
  context_.reset();
}

// ---- libavcodec callbacks (session thread, inside avcodec calls, mutex not held) ----

AVPixelFormat VaapiSession::getFormat(AVCodecContext* context, const AVPixelFormat* formats) {
  return static_cast<VaapiSession*>(context->opaque)->chooseFormat(context, formats);
}

AVPixelFormat VaapiSession::chooseFormat(AVCodecContext* context, const AVPixelFormat* formats) {
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

Status VaapiSession::setUpFrames(AVCodecContext* context) {
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

int VaapiSession::getBuffer(AVCodecContext* context, AVFrame* frame, int flags) {
  if (context->pix_fmt != AV_PIX_FMT_VAAPI || context->hw_frames_ctx == nullptr) {
    return avcodec_default_get_buffer2(context, frame, flags);  // software fallback
  }
  auto* self = static_cast<VaapiSession*>(context->opaque);
  std::shared_ptr<Slot> slot = self->takeDirectSlot(*context);
  if (!slot) return avcodec_default_get_buffer2(context, frame, flags);  // a driver surface

  auto* lease = new SurfaceLease{slot, slot->plan.surface};
  const VASurfaceID id = lease->surface->id();
  frame->buf[0] = av_buffer_create(reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(id)),
                                   sizeof(id), &VaapiSession::releaseSurface, lease, 0);
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

void VaapiSession::releaseSurface(void* opaque, uint8_t* /*data*/) {
  auto* lease = static_cast<SurfaceLease*>(opaque);
  lease->slot->decoderRefs.fetch_sub(1);
  delete lease;
}

std::shared_ptr<VaapiSession::Slot> VaapiSession::takeDirectSlot(const AVCodecContext& context) {
  const uint32_t needed = minBuffers();
  std::lock_guard lock(mutex_);
  if (directBlocked_ || awaitingLayout_ || !layout_ || options_.forceBounce) return nullptr;
  if (slots_.size() < needed) {
    if (!fewBuffersLogged_) {
      fewBuffersLogged_ = true;
      logs::codecs().info(
          "vaapi: {} output resources, direct decoding needs {}; decoding into driver surfaces "
          "and copying until there are more",
          slots_.size(), needed);
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

void VaapiSession::decode(uint32_t inputId, uint64_t timestamp, std::vector<uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  input_.push_back(Input{inputId, timestamp, std::move(bytes), false});
  workCv_.notify_one();
}

void VaapiSession::queueOutput(OutputTarget target) {
  std::lock_guard lock(mutex_);
  std::shared_ptr<Slot>& slot = slots_[target.resourceId];
  if (slot && slot->memory != target.memory) slot.reset();  // a new resource under an old id
  if (!slot) {
    slot = std::make_shared<Slot>();
    slot->resourceId = target.resourceId;
    slot->memory = std::move(target.memory);
  }
  if (slot->lent) {
    SPDLOG_LOGGER_DEBUG(&logs::codecs(), "vaapi: resource {} queued twice", target.resourceId);
    return;
  }
  slot->lent = true;
  lent_.push_back(target.resourceId);
  workCv_.notify_one();
}

void VaapiSession::setOutputLayout(const buffers::FrameLayout& layout) {
  std::lock_guard lock(mutex_);
  layout_ = layout;
  ++layoutGeneration_;
  awaitingLayout_ = false;
  workCv_.notify_one();
}

std::vector<uint32_t> VaapiSession::clearOutput() {
  std::unique_lock lock(mutex_);
  idleCv_.wait(lock, [this] { return !busy_; });
  std::vector<uint32_t> ids(lent_.begin(), lent_.end());
  lent_.clear();
  for (uint32_t id : ids) {
    Slot& slot = *slots_.at(id);
    slot.lent = false;
    // The last decode call may have started GPU writes into this resource: wait for them.
    if (slot.decoderRefs.load() > 0 && slot.plan.surface) {
      if (Status synced = slot.plan.surface->sync(); !synced) {
        logs::codecs().debug("vaapi: resource {}: {}", id, synced.error().message);
      }
    }
  }
  return ids;
}

void VaapiSession::flush() {
  std::lock_guard lock(mutex_);
  input_.push_back(Input{0, 0, {}, true});
  workCv_.notify_one();
}

void VaapiSession::reset() {
  std::lock_guard lock(mutex_);
  for (const Input& input : input_) {
    if (!input.flush) cancelledInputs_.push_back(input.id);
  }
  input_.clear();
  ++pendingResets_;
  workCv_.notify_one();
}

std::vector<DecoderEvent> VaapiSession::takeEvents() {
  std::lock_guard lock(mutex_);
  return std::exchange(events_, {});
}

template <typename Event>
void VaapiSession::postLocked(Event&& event) {
  events_.emplace_back(std::in_place_type<std::decay_t<Event>>, std::forward<Event>(event));
  notifyPending_ = true;
}

// ---- session thread ----

void VaapiSession::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (notifyPending_) {
      notifyPending_ = false;
      lock.unlock();
      if (options_.notify) options_.notify();
      lock.lock();
      continue;
    }
    if (!step(lock)) workCv_.wait(lock);
  }
}

bool VaapiSession::step(std::unique_lock<std::mutex>& lock) {
  if (pendingResets_ > 0) {
    handleReset(lock);
    return true;
  }
  return planStep(lock) || deliverStep(lock) || endOfStreamStep(lock) || decodeStep(lock);
}

void VaapiSession::handleReset(std::unique_lock<std::mutex>& lock) {
  std::vector<uint32_t> cancelled;
  if (current_) cancelled.push_back(current_->id);
  current_.reset();
  cancelled.insert(cancelled.end(), cancelledInputs_.begin(), cancelledInputs_.end());
  cancelledInputs_.clear();
  const int resets = std::exchange(pendingResets_, 0);
  std::deque<AvFramePtr> dropped = std::exchange(decoded_, {});
  pendingPacket_.reset();
  needReceive_ = false;
  drain_ = Drain::kNone;
  busy_ = true;
  lock.unlock();
  dropped.clear();
  resetDecoder();
  lock.lock();
  busy_ = false;
  idleCv_.notify_all();
  postLocked(ResetDone{std::move(cancelled)});
  for (int i = 1; i < resets; ++i) postLocked(ResetDone{});
}

// Decides the path of each lent resource for the current layout (imports its dma-buf).
bool VaapiSession::planStep(std::unique_lock<std::mutex>& lock) {
  if (!layout_ || awaitingLayout_) return false;
  for (uint32_t id : lent_) {
    std::shared_ptr<Slot> slot = slots_.at(id);
    if (slot->planGeneration == layoutGeneration_) continue;
    const uint64_t generation = layoutGeneration_;
    const buffers::FrameLayout layout = *layout_;
    busy_ = true;
    lock.unlock();
    VaTargetPlan plan =
        output_.plan(*slot->memory, layout, static_cast<uint32_t>(context_->coded_width),
                     static_cast<uint32_t>(context_->coded_height), software_);
    lock.lock();
    busy_ = false;
    idleCv_.notify_all();
    if (generation == layoutGeneration_) {
      logs::codecs().info("vaapi: resource {}: {} ({})", id,
                          buffers::outputPathName(plan.decision.path), plan.decision.reason);
      slot->plan = std::move(plan);
      slot->planGeneration = generation;
    }
    return true;
  }
  return false;
}

Result<FrameGeometry> VaapiSession::geometryOf(const AVFrame& frame) const {
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

std::shared_ptr<VaapiSession::Slot> VaapiSession::slotOfFrame(const AVFrame& frame) const {
  if (frame.format != AV_PIX_FMT_VAAPI) return nullptr;
  const VASurfaceID id = surfaceOf(frame);
  for (const auto& [resourceId, slot] : slots_) {
    if (slot->plan.surface && slot->plan.surface->id() == id) return slot;
  }
  return nullptr;
}

bool VaapiSession::deliverStep(std::unique_lock<std::mutex>& lock) {
  if (decoded_.empty()) return false;
  const AVFrame& frame = *decoded_.front();
  Result<FrameGeometry> geometry = geometryOf(frame);
  if (!geometry) {
    fail(std::move(geometry.error().message));
    return true;
  }
  if (*geometry != geometry_) {
    geometry_ = *geometry;
    awaitingLayout_ = true;
    directBlocked_ = true;
    StreamFormat format{geometry->codedWidth, geometry->codedHeight, geometry->visible,
                        minBuffers()};
    format.strideAlign = kVaStrideAlign;
    format.heightAlign = kVaHeightAlign;
    logs::codecs().debug("vaapi: format {}x{} visible ({},{}) {}x{} min buffers {}",
                         format.codedWidth, format.codedHeight, format.visible.left,
                         format.visible.top, format.visible.width, format.visible.height,
                         format.minBuffers);
    postLocked(FormatChanged{format});
    return true;
  }
  if (awaitingLayout_ || !layout_) return false;
  // The first picture of the current sequence in its layout: guest surfaces may now be decoded
  // into (a frame of an older frames context would still have the old size).
  if (directBlocked_ && frame.format == AV_PIX_FMT_VAAPI && frame.hw_frames_ctx != nullptr &&
      context_->hw_frames_ctx != nullptr &&
      frame.hw_frames_ctx->data == context_->hw_frames_ctx->data) {
    directBlocked_ = false;
  }
  std::shared_ptr<Slot> slot = slotOfFrame(frame);
  if (slot && slot->lent && slot->planGeneration == layoutGeneration_ && slot->plan.decodable &&
      slot->plan.decision.path == buffers::OutputPath::kDirect) {
    return deliverDirect(lock, slot);
  }
  return deliverCopy(lock);
}

void VaapiSession::unlend(uint32_t resourceId) {
  slots_.at(resourceId)->lent = false;
  lent_.erase(std::remove(lent_.begin(), lent_.end(), resourceId), lent_.end());
}

PictureReady VaapiSession::baseReady(const AVFrame& frame, uint32_t resourceId) const {
  PictureReady ready{
      resourceId, fromPts(frame.pts != AV_NOPTS_VALUE ? frame.pts : frame.best_effort_timestamp)};
  ready.error = frame.decode_error_flags != 0 || (frame.flags & AV_FRAME_FLAG_CORRUPT) != 0;
  return ready;
}

bool VaapiSession::deliverDirect(std::unique_lock<std::mutex>& lock,
                                 const std::shared_ptr<Slot>& slot) {
  AvFramePtr frame = std::move(decoded_.front());
  decoded_.pop_front();
  unlend(slot->resourceId);
  busy_ = true;
  lock.unlock();
  PictureReady ready = baseReady(*frame, slot->resourceId);
  ready.path = buffers::OutputPath::kDirect;
  // The guest reads the buffer as soon as it gets it: the GPU must be done writing.
  if (Status synced = slot->plan.surface->sync(); !synced) {
    SPDLOG_LOGGER_DEBUG(&logs::codecs(), "vaapi: resource {}: {}", slot->resourceId,
                        synced.error().message);
    ready.error = true;
  }
  frame.reset();  // libavcodec may keep the surface as a reference
  lock.lock();
  busy_ = false;
  idleCv_.notify_all();
  SPDLOG_LOGGER_TRACE(&logs::codecs(), "vaapi: resource {} picture ts={} direct", ready.resourceId,
                      ready.timestamp);
  postLocked(ready);
  return true;
}

bool VaapiSession::deliverCopy(std::unique_lock<std::mutex>& lock) {
  // The oldest lent resource libavcodec does not hold: never overwrite a reference picture.
  std::shared_ptr<Slot> target;
  for (uint32_t id : lent_) {
    const std::shared_ptr<Slot>& slot = slots_.at(id);
    if (slot->decoderRefs.load() == 0 && slot->planGeneration == layoutGeneration_) {
      target = slot;
      break;
    }
  }
  if (!target) return false;
  unlend(target->resourceId);
  AvFramePtr frame = std::move(decoded_.front());
  decoded_.pop_front();
  const buffers::FrameLayout layout = *layout_;
  busy_ = true;
  lock.unlock();
  PictureReady ready = baseReady(*frame, target->resourceId);
  Result<VaCopyResult> copied = output_.copy(*frame, *target->memory, layout, target->plan);
  if (copied) {
    ready.path = copied->path;
    ready.bytesCopied = copied->bytesCopied;
  } else {
    SPDLOG_LOGGER_DEBUG(&logs::codecs(), "vaapi: resource {}: {}", target->resourceId,
                        copied.error().message);
    ready.error = true;
  }
  frame.reset();
  lock.lock();
  busy_ = false;
  idleCv_.notify_all();
  SPDLOG_LOGGER_TRACE(&logs::codecs(), "vaapi: resource {} picture ts={} {}", ready.resourceId,
                      ready.timestamp, buffers::outputPathName(ready.path));
  postLocked(ready);
  return true;
}

bool VaapiSession::endOfStreamStep(std::unique_lock<std::mutex>& lock) {
  if (drain_ != Drain::kDone || !decoded_.empty() || lent_.empty()) return false;
  // Nothing is written into the EOS buffer, so even a resource libavcodec holds would do; one
  // it does not hold is preferred.
  uint32_t resourceId = lent_.front();
  for (uint32_t id : lent_) {
    if (slots_.at(id)->decoderRefs.load() == 0) {
      resourceId = id;
      break;
    }
  }
  unlend(resourceId);
  postLocked(PictureReady{resourceId, 0, false, true, 0});
  postLocked(FlushDone{});
  drain_ = Drain::kNone;
  busy_ = true;
  lock.unlock();
  resetDecoder();
  lock.lock();
  busy_ = false;
  idleCv_.notify_all();
  return true;
}

bool VaapiSession::decodeStep(std::unique_lock<std::mutex>& lock) {
  if (failed_) return failedStep();
  if (decoded_.size() >= kMaxDecodedFrames || drain_ == Drain::kDone) return false;
  const bool working = pendingPacket_ || current_ || needReceive_ || drain_ != Drain::kNone;
  if (!working) {
    if (input_.empty()) return false;
    Input input = std::move(input_.front());
    input_.pop_front();
    if (input.flush) {
      drain_ = Drain::kFlushParser;
    } else if (input.bytes.empty()) {
      postLocked(InputDone{input.id});
    } else {
      parsedIn_ += input.bytes.size();
      stamps_.push_back(StampedRange{parsedIn_, input.timestamp});
      currentSize_ = input.bytes.size();
      current_ = std::move(input);
      currentOffset_ = 0;
    }
    return true;
  }
  busy_ = true;
  lock.unlock();
  decodeOnce();
  lock.lock();
  busy_ = false;
  idleCv_.notify_all();
  for (uint32_t id : doneInputs_) postLocked(InputDone{id});
  doneInputs_.clear();
  return true;
}

bool VaapiSession::failedStep() {
  if (input_.empty() || drain_ == Drain::kDone) return false;
  Input input = std::move(input_.front());
  input_.pop_front();
  if (input.flush) {
    drain_ = Drain::kDone;
  } else {
    postLocked(InputDone{input.id});
  }
  return true;
}

void VaapiSession::fail(std::string message) {
  logs::codecs().error("vaapi: {}", message);
  failed_ = true;
  decoded_.clear();
  pendingPacket_.reset();
  needReceive_ = false;
  if (current_) postLocked(InputDone{current_->id});
  current_.reset();
  if (drain_ != Drain::kNone) drain_ = Drain::kDone;
  postLocked(StreamError{std::move(message)});
}

void VaapiSession::decodeOnce() {
  bool receiveWasEmpty = false;
  if (needReceive_ || drain_ == Drain::kReceiving) {
    if (receiveFrame()) return;
    receiveWasEmpty = true;
  }
  if (pendingPacket_) {
    sendPacket(receiveWasEmpty);
  } else if (current_) {
    parseInput();
  } else if (drain_ == Drain::kFlushParser) {
    if (parser_) {
      uint8_t* out = nullptr;
      int outSize = 0;
      av_parser_parse2(parser_.get(), context_.get(), &out, &outSize, nullptr, 0, AV_NOPTS_VALUE,
                       AV_NOPTS_VALUE, 0);
      if (outSize > 0) pendingPacket_ = takeParsedPacket(out, outSize);
    }
    drain_ = Drain::kSendNull;
  } else if (drain_ == Drain::kSendNull) {
    const int ret = avcodec_send_packet(context_.get(), nullptr);
    if (ret < 0) logs::codecs().debug("vaapi: drain: {}", avErrorString(ret));
    drain_ = Drain::kReceiving;
  } else if (drain_ == Drain::kReceiving) {
    drain_ = Drain::kDone;
  }
}

bool VaapiSession::receiveFrame() {
  AvFramePtr frame(av_frame_alloc());
  const int ret = frame ? avcodec_receive_frame(context_.get(), frame.get()) : AVERROR(ENOMEM);
  if (ret == 0) {
    decoded_.push_back(std::move(frame));
    return true;
  }
  if (ret == AVERROR_EOF) {
    needReceive_ = false;
    if (drain_ == Drain::kReceiving) drain_ = Drain::kDone;
    return true;
  }
  if (ret == AVERROR(EAGAIN)) {
    needReceive_ = false;
    return false;
  }
  SPDLOG_LOGGER_DEBUG(&logs::codecs(), "vaapi: avcodec_receive_frame: {}", avErrorString(ret));
  return true;
}

void VaapiSession::sendPacket(bool receiveWasEmpty) {
  const int ret = avcodec_send_packet(context_.get(), pendingPacket_.get());
  if (ret == AVERROR(EAGAIN) && !receiveWasEmpty) {
    needReceive_ = true;
    return;
  }
  if (ret < 0) {
    SPDLOG_LOGGER_DEBUG(&logs::codecs(), "vaapi: avcodec_send_packet: {}", avErrorString(ret));
  }
  pendingPacket_.reset();
  needReceive_ = true;
}

void VaapiSession::parseInput() {
  std::vector<uint8_t>& bytes = current_->bytes;
  const size_t size = currentSize_;
  if (!parser_) {
    if (size <= kMaxPacketSize) {
      pendingPacket_ = makePacket(bytes.data(), static_cast<int>(size), toPts(current_->timestamp));
    } else {
      SPDLOG_LOGGER_DEBUG(&logs::codecs(), "vaapi: input {} of {} bytes is too large; skipped",
                          current_->id, size);
    }
    currentOffset_ = size;
  } else {
    if (bytes.size() == size) bytes.resize(size + AV_INPUT_BUFFER_PADDING_SIZE, 0);
    const size_t chunk = std::min(size - currentOffset_, kMaxParseChunk);
    uint8_t* out = nullptr;
    int outSize = 0;
    const int used = av_parser_parse2(parser_.get(), context_.get(), &out, &outSize,
                                      bytes.data() + currentOffset_, static_cast<int>(chunk),
                                      toPts(current_->timestamp), AV_NOPTS_VALUE, 0);
    if (outSize > 0) pendingPacket_ = takeParsedPacket(out, outSize);
    if (used < 0 || (used == 0 && outSize == 0)) {
      currentOffset_ = size;
    } else {
      currentOffset_ += static_cast<size_t>(used);
    }
  }
  if (currentOffset_ >= size) {
    doneInputs_.push_back(current_->id);
    current_.reset();
  }
}

AvPacketPtr VaapiSession::takeParsedPacket(const uint8_t* data, int size) {
  while (!stamps_.empty() && stamps_.front().end <= parsedOut_) stamps_.pop_front();
  if (!stamps_.empty()) lastTimestamp_ = stamps_.front().timestamp;
  parsedOut_ += static_cast<uint64_t>(size);
  return makePacket(data, size, toPts(lastTimestamp_));
}

void VaapiSession::resetDecoder() {
  avcodec_flush_buffers(context_.get());
  if (parser_) parser_ = makeParser(format_);
  stamps_.clear();
  parsedIn_ = 0;
  parsedOut_ = 0;
}

// The references (which live in guest buffers when decoding directly), the reordering delay,
// the picture being decoded and one the guest shows.
uint32_t VaapiSession::minBuffers() const {
  int refs = context_->refs;
  if (format_ == CodedFormat::kVp8) refs = 3;  // last, golden, altref
  if (format_ == CodedFormat::kVp9) refs = 8;  // reference slots
  const int needed = std::max(refs, 1) + std::max(context_->has_b_frames, 0) + 3;
  return std::min(static_cast<uint32_t>(needed), kMaxMinBuffers);
}

}  // namespace vdec::codecs
