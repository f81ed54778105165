// SPDX-License-Identifier: MIT
#include "codecs/ffmpeg_engine.h"

#include <algorithm>
#include <thread>

#include "buffers/frame_writer.h"
#include "codecs/nv12_chroma_writer.h"
#include "vdec/base/logging.h"

namespace vdec::codecs {
namespace {

ThreadBudget::Lease leaseThreads(const SessionOptions& options) {
  if (options.threadBudget) return options.threadBudget->lease(options.threads);
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  // No budget: `threads` as asked (the most libavcodec may use), automatic as with one.
  return ThreadBudget::Lease(nullptr, decoderThreadsFor(options.threads, kMaxThreads, 1, cores));
}

}  // namespace

Result<std::unique_ptr<FfmpegEngine>> FfmpegEngine::create(CodedFormat format,
                                                           const SessionOptions& options) {
  const AVCodec* codec = findSoftwareDecoder(avCodecId(format));
  if (codec == nullptr) {
    return makeError(ErrorCode::kUnsupported, "{}", missingDecoderReason(avCodecId(format)));
  }
  AvCodecContextPtr context(avcodec_alloc_context3(codec));
  if (!context) return makeError(ErrorCode::kOutOfMemory, "avcodec_alloc_context3() failed");
  ThreadBudget::Lease threads = leaseThreads(options);
  context->thread_count = threads.threads();
  // VP8 frame threading in libavcodec 5.1 races on the segmentation map carried between frames:
  // vp80-02-inter-1412 decodes wrong about once in 40 runs with two frame threads (the ffmpeg
  // tool shows it too), never with slice threads. Bit-exact output wins over speed there.
  context->thread_type =
      format == CodedFormat::kVp8 ? FF_THREAD_SLICE : FF_THREAD_FRAME | FF_THREAD_SLICE;
  // We crop exactly ourselves: libavcodec would round odd left/top crops to keep alignment.
  context->apply_cropping = 0;
  followStreamReordering(*context);
#if FF_API_THREAD_SAFE_CALLBACKS
  // libavcodec 5.x still asks: without it frame threads would hand every get_buffer2 call to
  // the thread in avcodec_send_packet. FramePool::getBuffer is thread-safe.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  context->thread_safe_callbacks = 1;
#pragma GCC diagnostic pop
#endif
  // get_buffer2 (direct rendering) is installed before the frame threads copy the context.
  std::shared_ptr<FramePool> pool = FramePool::create(options.memoryBudget);
  pool->attach(*context);
  // A decoder without AV_CODEC_CAP_DR1 (libdav1d: pictures from its own pool) never calls
  // get_buffer2: every picture is copied (bounce), decided up front instead of waiting for lends.
  SessionOptions engineOptions = options;
  if ((codec->capabilities & AV_CODEC_CAP_DR1) == 0) engineOptions.forceBounce = true;
  return std::unique_ptr<FfmpegEngine>(new FfmpegEngine(format, engineOptions, std::move(threads),
                                                        std::move(pool), std::move(context)));
}

Status FfmpegEngine::open() {
  const AVCodec* codec = context_->codec;
  // libavcodec's frame and slice threads start here and inherit the opening thread's priority.
  // The probe opens there too: every avcodec_open2 allocates on the one helper thread (one
  // malloc arena), not on each session's thread.
  int ret = 0;
  std::unique_ptr<FfmpegProbe> probe;
  runAtLowerPriority(options_.priority, [&] {
    ret = avcodec_open2(context_.get(), codec, nullptr);
    if (ret >= 0) probe = FfmpegProbe::create(avCodecId(format_));
  });
  if (ret < 0) {
    return makeError(ErrorCode::kBackendFailure, "avcodec_open2({}) failed: {}", codec->name,
                     avErrorString(ret));
  }
  // Without a probe the first format simply comes from the real decoder (later, for one-frame
  // streams): not fatal.
  if (!probe) logs::codecs().warn("ffmpeg: {}: no probe decoder", codec->name);
  probe_ = std::move(probe);
  logs::codecs().debug("ffmpeg: {} session, {} threads", codec->name, context_->thread_count);
  return okStatus();
}

FfmpegEngine::FfmpegEngine(CodedFormat format, SessionOptions options,
                           ThreadBudget::Lease threads, std::shared_ptr<FramePool> pool,
                           AvCodecContextPtr context)
    : format_(format),
      options_(std::move(options)),
      threads_(std::move(threads)),
      pool_(std::move(pool)),
      context_(std::move(context)) {}

FfmpegEngine::~FfmpegEngine() {
  // libavcodec drops its buffers (back into the pool) before the pool can go.
  context_.reset();
}

ClearedTargets FfmpegEngine::clear() {
  FramePool::Cleared cleared = pool_->clear();
  return ClearedTargets{std::move(cleared.ids), cleared.inFlight};
}

std::optional<ProbedFormat> FfmpegEngine::probePacket(const AVPacket& packet) {
  return probe_ ? probe_->feed(packet) : std::nullopt;
}

std::optional<ProbedFormat> FfmpegEngine::drainProbe() {
  return probe_ ? probe_->drain() : std::nullopt;
}

Result<FrameGeometry> FfmpegEngine::geometryOf(const AVFrame& frame) const {
  FrameGeometry geometry = frameGeometry(frame);
  VDEC_TRY(checkOutputPixelFormat(geometry.pixelFormat));
  return geometry;
}

void FfmpegEngine::describe(const FrameGeometry& geometry, StreamFormat& format) {
  alignment_ = decoderAlignment(avCodecId(format_), geometry.pixelFormat, geometry.codedWidth,
                                geometry.codedHeight);
  format.strideAlign = layoutStrideAlign(*alignment_);
  format.heightAlign = alignment_->heightAlign;
  format.extraRows = alignment_->extraRows;
}

void FfmpegEngine::applyLayout(const buffers::FrameLayout& layout, uint32_t minBuffers,
                               std::optional<uint32_t> guestBuffers) {
  minBuffers_ = minBuffers;
  guestBuffers_ = guestBuffers;
  lendWaitSince_.reset();
  returnWaitSince_.reset();
  if (!alignment_) return;
  pool_->setLayout(layout, *alignment_, std::chrono::steady_clock::now());
  if (options_.forceBounce) pool_->setMode(FramePool::Mode::kBounce);
}

bool FfmpegEngine::prepare() {
  if (pool_->mode() == FramePool::Mode::kUndecided) return false;
  buffers::OutputPathPolicy policy;
  policy.forceBounce = options_.forceBounce;
  policy.softwareDecoder = true;
  policy.strideAlign = alignment_ ? alignment_->lineAlign : 64;
  policy.enoughBuffers = pool_->mode() == FramePool::Mode::kDirect;
  return pool_->decideResources(policy);
}

// Decides, once per layout, whether the stream renders directly; false while the guest may
// still be lending buffers (lookAgainAt says until when).
bool FfmpegEngine::decideMode(std::chrono::steady_clock::time_point now,
                              std::optional<std::chrono::steady_clock::time_point>& lookAgainAt) {
  if (pool_->mode() != FramePool::Mode::kUndecided) return true;
  // Enough buffers created: decide now. Fewer may only mean the guest creates them as it queues
  // them (DMABUF buffers are created at their first QBUF), so then watch what it lends.
  if (guestBuffers_ && *guestBuffers_ >= minBuffers_) {
    pool_->setMode(FramePool::Mode::kDirect);
    logs::codecs().info("ffmpeg: the guest has {} output buffers: decoding into them",
                        *guestBuffers_);
    return true;
  }
  const FramePool::LendStats lent = pool_->lendStats();
  if (lent.distinct >= minBuffers_) {
    pool_->setMode(FramePool::Mode::kDirect);
    logs::codecs().info("ffmpeg: {} output buffers lent: decoding into them", lent.distinct);
    return true;
  }
  if (lent.relent || now >= lent.lastLend + kLendSettle) {
    pool_->setMode(FramePool::Mode::kBounce);
    logs::codecs().warn(
        "ffmpeg: the guest lent {} output buffers, direct rendering needs {}: decoding into host "
        "frames and copying (bounce) for this layout",
        lent.distinct, minBuffers_);
    return true;
  }
  lookAgainAt = lent.lastLend + kLendSettle;
  return false;
}

SendReadiness FfmpegEngine::readyToSend(std::chrono::steady_clock::time_point now) {
  SendReadiness readiness;
  if (!decideMode(now, readiness.lookAgainAt)) {
    readiness.ready = false;
    return readiness;
  }
  // Bounce mode decides (and logs) every lent resource before the first send: prepare() first.
  // Direct mode decides each one when get_buffer2 first takes it.
  if (pool_->hasUndecided()) return SendReadiness{false, now};
  if (pool_->mode() != FramePool::Mode::kDirect) return readiness;
  // Decided direct from the guest's buffer count, but the guest is still queueing them: a
  // picture started now would find too few and go to a host frame.
  if (const FramePool::LendStats lent = pool_->lendStats();
      lent.distinct < minBuffers_ && !lent.relent) {
    if (!lendWaitSince_) lendWaitSince_ = now;
    if (now < *lendWaitSince_ + kLendWait) {
      return SendReadiness{false, *lendWaitSince_ + kLendWait};
    }
  }
  // Wait for the guest to queue resources again rather than decode into host frames, but only
  // for resources that are out with the guest: those libavcodec holds come back only if it
  // decodes on. A guest may keep resources for good (display): the wait is bounded.
  const FramePool::Counts counts = pool_->counts();
  const auto wanted = static_cast<size_t>(picturesInFlight()) + 1;
  if (counts.free >= wanted || counts.withGuest == 0) {
    returnWaitSince_.reset();
    return readiness;
  }
  if (!returnWaitSince_) returnWaitSince_ = now;
  if (now >= *returnWaitSince_ + kLendWait) {
    returnWaitSince_.reset();
    return readiness;
  }
  return SendReadiness{false, *returnWaitSince_ + kLendWait};
}

std::optional<PictureReady> FfmpegEngine::deliver(const AVFrame& frame,
                                                  const buffers::FrameLayout& layout) {
  // In place when it was decoded into a resource still lent; else copied into a free one.
  if (std::optional<OutputTarget> target = pool_->claimDirect(frame)) {
    return deliverInPlace(frame, layout, *target);
  }
  if (std::optional<OutputTarget> target = pool_->takeFree()) {
    return copyInto(frame, layout, *target);
  }
  return std::nullopt;
}

PictureReady FfmpegEngine::deliverInPlace(const AVFrame& frame, const buffers::FrameLayout& layout,
                                          const OutputTarget& target) const {
  PictureReady ready{target.resourceId, 0};
  ready.path = OutputPath::kDirect;
  if (layout.format == buffers::PixelFormat::kNv12) {
    Result<uint64_t> written = writeNv12Chroma(*target.memory, layout, frame);
    if (!written) {
      logs::codecs().debug("ffmpeg: resource {}: {}", target.resourceId, written.error().message);
      ready.error = true;
    } else {
      ready.bytesCopied = *written;
    }
  }
  return ready;
}

PictureReady FfmpegEngine::copyInto(const AVFrame& frame, const buffers::FrameLayout& layout,
                                    const OutputTarget& target) const {
  PictureReady ready{target.resourceId, 0};
  buffers::PlanarPicture picture;
  for (int i = 0; i < 3; ++i) {
    picture.planes[i] = frame.data[i];
    picture.strides[i] = frame.linesize[i];
  }
  picture.width = static_cast<uint32_t>(frame.width);
  picture.height = static_cast<uint32_t>(frame.height);
  if (picture.width > layout.width || !target.memory) {
    ready.error = true;
    return ready;
  }
  Result<uint64_t> written = buffers::writePicture(*target.memory, layout, picture);
  if (!written) {
    logs::codecs().debug("ffmpeg: resource {}: {}", target.resourceId, written.error().message);
    ready.error = true;
    return ready;
  }
  ready.bytesCopied = *written;
  return ready;
}

std::optional<uint32_t> FfmpegEngine::takeEndOfStreamTarget() {
  std::optional<OutputTarget> target = pool_->takeForEndOfStream();
  if (!target) return std::nullopt;
  return target->resourceId;
}

}  // namespace vdec::codecs
