// SPDX-License-Identifier: MIT
#include "codecs/ffmpeg_session.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "buffers/frame_writer.h"
#include "vdec/base/logging.h"

namespace vdec::codecs {
namespace {

constexpr int kMaxAutoThreads = 4;
constexpr int kMaxThreads = 16;
constexpr size_t kMaxParseChunk = size_t{1} << 20;   // bounds one parser call (and its int size)
constexpr size_t kMaxPacketSize = size_t{64} << 20;  // one VP8 frame
constexpr uint32_t kMaxMinBuffers = 32;

int threadCount(int requested) {
  if (requested > 0) return std::min(requested, kMaxThreads);
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores, 1, kMaxAutoThreads);
}

AvParserPtr makeParser(CodedFormat format) {
  if (format == CodedFormat::kVp8) return nullptr;  // no VP8 parser in libavcodec 5.1
  return AvParserPtr(av_parser_init(avCodecId(format)));
}

// A padded, owned copy of `size` bytes (libavcodec may read AV_INPUT_BUFFER_PADDING_SIZE past
// the end; av_new_packet zeroes that padding).
AvPacketPtr makePacket(const uint8_t* data, int size, int64_t pts) {
  AvPacketPtr packet(av_packet_alloc());
  if (!packet || av_new_packet(packet.get(), size) < 0) return nullptr;
  std::memcpy(packet->data, data, static_cast<size_t>(size));
  packet->pts = pts;
  return packet;
}

// Guest timestamps travel through libavcodec as pts, bit for bit; the one value that reads as
// AV_NOPTS_VALUE (2^63) comes back as 0.
int64_t toPts(uint64_t timestamp) { return std::bit_cast<int64_t>(timestamp); }
uint64_t fromPts(int64_t pts) { return pts == AV_NOPTS_VALUE ? 0 : std::bit_cast<uint64_t>(pts); }

}  // namespace

Result<std::unique_ptr<FfmpegSession>> FfmpegSession::create(CodedFormat format,
                                                             const SessionOptions& options) {
  const AVCodec* codec = avcodec_find_decoder(avCodecId(format));
  if (codec == nullptr) {
    return makeError(ErrorCode::kUnsupported, "libavcodec has no {} decoder",
                     codedFormatName(format));
  }
  AvCodecContextPtr context(avcodec_alloc_context3(codec));
  if (!context) return makeError(ErrorCode::kOutOfMemory, "avcodec_alloc_context3() failed");
  context->thread_count = threadCount(options.threads);
  // VP8 frame threading in libavcodec 5.1 races on the segmentation map carried between frames:
  // vp80-02-inter-1412 decodes wrong about once in 40 runs with two frame threads (the ffmpeg
  // tool shows it too), never with slice threads. Bit-exact output wins over speed there.
  context->thread_type =
      format == CodedFormat::kVp8 ? FF_THREAD_SLICE : FF_THREAD_FRAME | FF_THREAD_SLICE;
  // We crop exactly ourselves: libavcodec would round odd left/top crops to keep alignment.
  context->apply_cropping = 0;
#if FF_API_THREAD_SAFE_CALLBACKS
  // libavcodec 5.x still asks: without it frame threads would hand every get_buffer2 call to
  // the thread in avcodec_send_packet. FramePool::getBuffer is thread-safe.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  context->thread_safe_callbacks = 1;
#pragma GCC diagnostic pop
#endif
  // get_buffer2 (direct rendering) is installed before the frame threads copy the context.
  std::shared_ptr<FramePool> pool = FramePool::create();
  pool->attach(*context);
  if (const int ret = avcodec_open2(context.get(), codec, nullptr); ret < 0) {
    return makeError(ErrorCode::kBackendFailure, "avcodec_open2({}) failed: {}", codec->name,
                     avErrorString(ret));
  }
  // Without a probe the first format simply comes from the real decoder (later, for one-frame
  // streams): not fatal.
  std::unique_ptr<FfmpegProbe> probe = FfmpegProbe::create(avCodecId(format));
  if (!probe) logs::codecs().warn("ffmpeg: {}: no probe decoder", codec->name);
  auto session = std::unique_ptr<FfmpegSession>(new FfmpegSession(
      format, options, std::move(pool), std::move(context), std::move(probe)));
  if (format != CodedFormat::kVp8 && !session->parser_) {
    return makeError(ErrorCode::kBackendFailure, "av_parser_init({}) failed", codec->name);
  }
  logs::codecs().debug("ffmpeg: {} session, {} threads", codec->name,
                       session->context_->thread_count);
  return session;
}

FfmpegSession::FfmpegSession(CodedFormat format, SessionOptions options,
                             std::shared_ptr<FramePool> pool, AvCodecContextPtr context,
                             std::unique_ptr<FfmpegProbe> probe)
    : format_(format),
      options_(std::move(options)),
      pool_(std::move(pool)),
      context_(std::move(context)),
      parser_(makeParser(format)),
      probe_(std::move(probe)),
      thread_([this] { run(); }) {
  pool_->setWake([this] {
    // On the decoding thread the loop looks again anyway (and may hold the mutex).
    if (std::this_thread::get_id() == thread_.get_id()) return;
    std::lock_guard lock(mutex_);
    workCv_.notify_one();
  });
}

FfmpegSession::~FfmpegSession() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  workCv_.notify_one();
  thread_.join();
  // libavcodec and our frames drop their buffers while the mutex still exists.
  decoded_.clear();
  context_.reset();
  pool_->setWake(nullptr);
}

void FfmpegSession::decode(uint32_t inputId, uint64_t timestamp, std::vector<uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  input_.push_back(Input{inputId, timestamp, std::move(bytes), false});
  workCv_.notify_one();
}

void FfmpegSession::queueOutput(OutputTarget target) {
  pool_->lend(std::move(target));
  std::lock_guard lock(mutex_);
  workCv_.notify_one();
}

void FfmpegSession::setOutputLayout(const buffers::FrameLayout& layout) {
  std::lock_guard lock(mutex_);
  layout_ = layout;
  layoutChanged_ = true;
  awaitingLayout_ = false;
  workCv_.notify_one();
}

void FfmpegSession::setGuestBufferCount(uint32_t count) {
  std::lock_guard lock(mutex_);
  guestBuffers_ = count;
}

std::vector<uint32_t> FfmpegSession::clearOutput() {
  std::unique_lock lock(mutex_);
  writeCv_.wait(lock, [this] { return !writing_; });
  FramePool::Cleared cleared = pool_->clear();
  if (cleared.inFlight) {
    quiesceRequested_ = true;
    workCv_.notify_one();
    writeCv_.wait(lock, [this] { return !quiesceRequested_; });
  }
  return cleared.ids;
}

void FfmpegSession::flush() {
  std::lock_guard lock(mutex_);
  input_.push_back(Input{0, 0, {}, true});
  workCv_.notify_one();
}

void FfmpegSession::reset() {
  std::lock_guard lock(mutex_);
  for (const Input& input : input_) {
    if (!input.flush) cancelledInputs_.push_back(input.id);
  }
  input_.clear();
  ++pendingResets_;
  workCv_.notify_one();
}

std::vector<DecoderEvent> FfmpegSession::takeEvents() {
  std::lock_guard lock(mutex_);
  return std::exchange(events_, {});
}

template <typename Event>
void FfmpegSession::postLocked(Event&& event) {
  // In-place construction: gcc 12 warns (falsely) about moving a variant into the vector.
  events_.emplace_back(std::in_place_type<std::decay_t<Event>>, std::forward<Event>(event));
  notifyPending_ = true;
}

void FfmpegSession::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (notifyPending_) {
      notifyPending_ = false;
      lock.unlock();
      if (options_.notify) options_.notify();
      lock.lock();
      continue;
    }
    if (step(lock)) continue;
    if (wakeAt_) {
      workCv_.wait_until(lock, *wakeAt_);
    } else {
      workCv_.wait(lock);
    }
  }
}

bool FfmpegSession::step(std::unique_lock<std::mutex>& lock) {
  wakeAt_.reset();
  if (pendingResets_ > 0) {
    handleReset(lock);
    return true;
  }
  if (quiesceRequested_) {
    quiesce(lock);
    return true;
  }
  if (layoutChanged_) {
    applyLayout();
    return true;
  }
  return deliverStep(lock) || endOfStreamStep(lock) || decodeStep(lock);
}

// clearOutput() waits: pictures may be being decoded into cleared resources. Draining makes
// libavcodec finish (and give out) every picture it started; flushing then drops its references.
void FfmpegSession::quiesce(std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  avcodec_send_packet(context_.get(), nullptr);
  while (true) {
    AvFramePtr frame(av_frame_alloc());
    if (!frame) break;
    const int ret = avcodec_receive_frame(context_.get(), frame.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) break;
    if (ret < 0) continue;  // a damaged frame; the next one may still come
    pool_->markReceived(*frame);
    decoded_.push_back(std::move(frame));
  }
  avcodec_flush_buffers(context_.get());
  needReceive_ = false;
  lock.lock();
  if (drain_ == Drain::kReceiving) drain_ = Drain::kDone;
  logs::codecs().debug("ffmpeg: output cleared while decoding into it; decoder drained");
  quiesceRequested_ = false;
  writeCv_.notify_all();
}

void FfmpegSession::applyLayout() {
  layoutChanged_ = false;
  lendWaitSince_.reset();
  if (!layout_ || !alignment_) return;
  pool_->setLayout(*layout_, *alignment_, std::chrono::steady_clock::now());
  if (options_.forceBounce) pool_->setMode(FramePool::Mode::kBounce);
}

// Decides, once per layout, whether the stream renders directly; false while the guest may
// still be lending buffers (wakeAt_ says until when).
bool FfmpegSession::decideModeLocked() {
  if (pool_->mode() != FramePool::Mode::kUndecided) return true;
  // Enough buffers created: decide now. Fewer may only mean the guest creates them as it queues
  // them (DMABUF buffers are created at their first QBUF), so then watch what it lends.
  if (guestBuffers_ && *guestBuffers_ >= announcedMinBuffers_) {
    pool_->setMode(FramePool::Mode::kDirect);
    logs::codecs().info("ffmpeg: the guest has {} output buffers: decoding into them",
                        *guestBuffers_);
    return true;
  }
  const FramePool::LendStats lent = pool_->lendStats();
  const auto now = std::chrono::steady_clock::now();
  if (lent.distinct >= announcedMinBuffers_) {
    pool_->setMode(FramePool::Mode::kDirect);
    logs::codecs().info("ffmpeg: {} output buffers lent: decoding into them", lent.distinct);
    return true;
  }
  if (lent.relent || now >= lent.lastLend + kLendSettle) {
    pool_->setMode(FramePool::Mode::kBounce);
    logs::codecs().warn(
        "ffmpeg: the guest lent {} output buffers, direct rendering needs {}: decoding into host "
        "frames and copying (bounce) for this layout",
        lent.distinct, announcedMinBuffers_);
    return true;
  }
  wakeAt_ = lent.lastLend + kLendSettle;
  return false;
}

// Packets wait (parked) for the first format, for the guest's layout and for the buffer
// decision, unless a flush needs them decoded now.
bool FfmpegSession::parkedLocked() {
  bool flushing = drain_ != Drain::kNone;
  for (const Input& input : input_) flushing = flushing || input.flush;
  // A probe drained without a picture has failed: the real decoder gets the packets.
  if (!geometry_) return !flushing && probe_ != nullptr && !probeFailed_ && packets_.size() < kMaxPackets;
  // Pictures are not delivered before the layout anyway, flush or not.
  if (awaitingLayout_ || !layout_ || layoutChanged_) return true;
  // The buffer decision waits at most kLendSettle, flush or not.
  if (!decideModeLocked()) return true;
  if (pool_->mode() != FramePool::Mode::kDirect) return false;
  // Decided direct from the guest's buffer count, but the guest is still queueing them: a
  // picture started now would find too few and go to a host frame. Wait (bounded) until as many
  // as direct rendering needs were lent.
  if (const FramePool::LendStats lent = pool_->lendStats();
      lent.distinct < announcedMinBuffers_ && !lent.relent) {
    const auto now = std::chrono::steady_clock::now();
    if (!lendWaitSince_) lendWaitSince_ = now;
    if (now < *lendWaitSince_ + kGuestReturnWait) {
      wakeAt_ = *lendWaitSince_ + kGuestReturnWait;
      return true;
    }
  }
  // Decoding waits for the guest to queue resources again rather than decode into host frames,
  // but only for resources that are out with the guest: those libavcodec holds come back only
  // if it decodes on (then a picture that finds none free goes to a host frame).
  // A guest may also keep resources for good (display): the wait is bounded by kGuestReturnWait
  // per picture, after which libavcodec decodes into a host frame.
  const FramePool::Counts counts = pool_->counts();
  const auto wanted = static_cast<size_t>(std::max(context_->thread_count, 1)) + 1;
  if (counts.free >= wanted || counts.withGuest == 0) {
    guestWaitSince_.reset();
    return false;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!guestWaitSince_) guestWaitSince_ = now;
  if (now >= *guestWaitSince_ + kGuestReturnWait) {
    guestWaitSince_.reset();
    return false;
  }
  wakeAt_ = *guestWaitSince_ + kGuestReturnWait;
  return true;
}

void FfmpegSession::handleReset(std::unique_lock<std::mutex>& lock) {
  std::vector<uint32_t> cancelled;
  if (current_) cancelled.push_back(current_->id);  // partly parsed: never reported done
  current_.reset();
  cancelled.insert(cancelled.end(), cancelledInputs_.begin(), cancelledInputs_.end());
  cancelledInputs_.clear();
  const int resets = std::exchange(pendingResets_, 0);
  decoded_.clear();
  packets_.clear();
  needReceive_ = false;
  drain_ = Drain::kNone;  // a flush in progress ends without FlushDone
  lock.unlock();
  resetDecoder();
  lock.lock();
  postLocked(ResetDone{std::move(cancelled)});
  for (int i = 1; i < resets; ++i) postLocked(ResetDone{});
}

// Announces a new format (mutex held); false if the stream cannot be decoded (StreamError).
bool FfmpegSession::announce(const FrameGeometry& geometry, int refs, int hasBFrames) {
  if (Status supported = checkOutputPixelFormat(geometry.pixelFormat); !supported) {
    fail(std::move(supported.error().message));
    return false;
  }
  geometry_ = geometry;
  awaitingLayout_ = true;
  alignment_ = decoderAlignment(avCodecId(format_), geometry.pixelFormat, geometry.codedWidth,
                                geometry.codedHeight);
  StreamFormat format{geometry.codedWidth, geometry.codedHeight, geometry.visible,
                      minBuffers(refs, hasBFrames)};
  format.strideAlign = layoutStrideAlign(*alignment_);
  format.heightAlign = alignment_->heightAlign;
  format.extraRows = alignment_->extraRows;
  announcedMinBuffers_ = format.minBuffers;
  logs::codecs().debug(
      "ffmpeg: format {}x{} visible ({},{}) {}x{} min buffers {}, strides /{}, rows /{} +{}",
      format.codedWidth, format.codedHeight, format.visible.left, format.visible.top,
      format.visible.width, format.visible.height, format.minBuffers, format.strideAlign,
      format.heightAlign, format.extraRows);
  postLocked(FormatChanged{format});
  return true;
}

bool FfmpegSession::deliverStep(std::unique_lock<std::mutex>& lock) {
  if (!geometry_ && probed_) {
    // The probe saw the first picture before the real decoder gave it out.
    const ProbedFormat probed = *std::exchange(probed_, std::nullopt);
    probe_.reset();
    announce(probed.geometry, probed.refs, probed.hasBFrames);
    return true;
  }
  if (decoded_.empty()) return false;
  const FrameGeometry geometry = frameGeometry(*decoded_.front());
  if (geometry != geometry_) {
    probe_.reset();
    probed_.reset();
    announce(geometry, context_->refs, context_->has_b_frames);
    return true;
  }
  if (awaitingLayout_ || !layout_ || layoutChanged_) return false;
  const buffers::FrameLayout layout = *layout_;
  // In place when it was decoded into a resource still lent; else copied into a free one.
  std::optional<OutputTarget> target = pool_->claimDirect(*decoded_.front());
  const bool direct = target.has_value();
  if (!direct) target = pool_->takeFree();
  if (!target) return false;
  AvFramePtr frame = std::move(decoded_.front());
  decoded_.pop_front();
  writing_ = !direct || layout.format == buffers::PixelFormat::kNv12;
  lock.unlock();
  PictureReady ready =
      direct ? deliverDirect(*frame, layout, *target) : writeFrame(*frame, layout, *target);
  frame.reset();
  target->memory.reset();
  lock.lock();
  writing_ = false;
  writeCv_.notify_all();
  postLocked(ready);
  return true;
}

PictureReady FfmpegSession::deliverDirect(const AVFrame& frame, const buffers::FrameLayout& layout,
                                          OutputTarget& target) {
  PictureReady ready{
      target.resourceId,
      fromPts(frame.pts != AV_NOPTS_VALUE ? frame.pts : frame.best_effort_timestamp)};
  ready.error = frame.decode_error_flags != 0 || (frame.flags & AV_FRAME_FLAG_CORRUPT) != 0;
  ready.path = OutputPath::kDirect;
  if (layout.format == buffers::PixelFormat::kNv12) {
    Result<uint64_t> written = writeNv12Chroma(*target.memory, layout, frame);
    if (!written) {
      SPDLOG_LOGGER_DEBUG(&logs::codecs(), "ffmpeg: resource {}: {}", target.resourceId,
                          written.error().message);
      ready.error = true;
    } else {
      ready.bytesCopied = *written;
    }
  }
  SPDLOG_LOGGER_TRACE(&logs::codecs(), "ffmpeg: resource {} picture ts={} in place",
                      target.resourceId, ready.timestamp);
  return ready;
}

bool FfmpegSession::endOfStreamStep(std::unique_lock<std::mutex>& lock) {
  if (drain_ != Drain::kDone || !decoded_.empty()) return false;
  std::optional<OutputTarget> target = pool_->takeForEndOfStream();
  if (!target) return false;
  postLocked(PictureReady{target->resourceId, 0, false, true, 0});
  postLocked(FlushDone{});
  drain_ = Drain::kNone;
  lock.unlock();
  // After draining libavcodec accepts packets again only once flushed; the guest resumes a
  // stream by simply queueing more input.
  resetDecoder();
  lock.lock();
  return true;
}

bool FfmpegSession::decodeStep(std::unique_lock<std::mutex>& lock) {
  if (failed_) return failedStep();
  if (decoded_.size() >= kMaxDecodedFrames || drain_ == Drain::kDone) return false;
  const bool maySend = !packets_.empty() && !parkedLocked();
  const bool mayParse = current_.has_value() && packets_.size() < kMaxPackets;
  const bool drainProbe = !geometry_ && !probed_ && probe_ && probe_->hasUndrainedInput() &&
                          input_.empty() && !current_ && drain_ == Drain::kNone;
  const bool draining = drain_ != Drain::kNone && (drain_ != Drain::kSendNull || packets_.empty());
  if (!(needReceive_ || maySend || mayParse || drainProbe || draining)) {
    if (current_ || input_.empty()) return false;
    Input input = std::move(input_.front());
    input_.pop_front();
    if (input.flush) {
      drain_ = Drain::kFlushParser;
    } else if (input.bytes.empty()) {
      postLocked(InputDone{input.id});  // an empty buffer would mean "flush" to the parser
    } else {
      parsedIn_ += input.bytes.size();
      stamps_.push_back(StampedRange{parsedIn_, input.timestamp});
      currentSize_ = input.bytes.size();
      current_ = std::move(input);
      currentOffset_ = 0;
    }
    return true;
  }
  lock.unlock();
  if (maySend) {
    buffers::OutputPathPolicy policy;
    policy.forceBounce = options_.forceBounce;
    policy.softwareDecoder = true;
    policy.strideAlign = alignment_ ? alignment_->lineAlign : 64;
    policy.enoughBuffers = pool_->mode() == FramePool::Mode::kDirect;
    pool_->decideResources(policy);
  }
  decodeOnce(maySend, mayParse, drainProbe);
  lock.lock();
  for (uint32_t id : doneInputs_) postLocked(InputDone{id});
  doneInputs_.clear();
  return true;
}

// Once failed, input is consumed unread and a flush completes at once (the guest must not be
// left in its drain state).
bool FfmpegSession::failedStep() {
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

void FfmpegSession::fail(std::string message) {
  logs::codecs().error("ffmpeg: {}", message);
  failed_ = true;
  decoded_.clear();
  packets_.clear();
  needReceive_ = false;
  if (current_) postLocked(InputDone{current_->id});
  current_.reset();
  if (drain_ != Drain::kNone) drain_ = Drain::kDone;
  postLocked(StreamError{std::move(message)});
}

void FfmpegSession::decodeOnce(bool maySend, bool mayParse, bool drainProbe) {
  bool receiveWasEmpty = false;
  if (needReceive_ || drain_ == Drain::kReceiving) {
    if (receiveFrame()) return;
    receiveWasEmpty = true;
  }
  if (maySend && !packets_.empty()) {
    sendPacket(receiveWasEmpty);
  } else if (mayParse && current_) {
    parseInput();
  } else if (drain_ == Drain::kFlushParser) {
    if (parser_) {
      uint8_t* out = nullptr;
      int outSize = 0;
      av_parser_parse2(parser_.get(), context_.get(), &out, &outSize, nullptr, 0, AV_NOPTS_VALUE,
                       AV_NOPTS_VALUE, 0);
      if (outSize > 0) pushPacket(takeParsedPacket(out, outSize));
    }
    drain_ = Drain::kSendNull;
  } else if (drain_ == Drain::kSendNull && packets_.empty()) {
    const int ret = avcodec_send_packet(context_.get(), nullptr);
    if (ret < 0) logs::codecs().debug("ffmpeg: drain: {}", avErrorString(ret));
    drain_ = Drain::kReceiving;
  } else if (drain_ == Drain::kReceiving) {
    logs::codecs().debug("ffmpeg: drain: decoder wants input; ending the drain");
    drain_ = Drain::kDone;
  } else if (drainProbe && probe_) {
    // The input ran dry before a format: make the probe give out what it holds.
    probed_ = probe_->drain();
    probeFailed_ = !probed_;
    if (probeFailed_) logs::codecs().debug("ffmpeg: the probe found no picture yet");
  }
}

// A parsed packet goes to the probe (until a format is known) and to the queue for libavcodec.
void FfmpegSession::pushPacket(AvPacketPtr packet) {
  if (!packet) return;
  if (!geometry_ && !probed_ && probe_) probed_ = probe_->feed(*packet);
  packets_.push_back(std::move(packet));
}

// Returns true when the call changed something (a frame, or the end of a drain).
bool FfmpegSession::receiveFrame() {
  AvFramePtr frame(av_frame_alloc());
  const int ret = frame ? avcodec_receive_frame(context_.get(), frame.get()) : AVERROR(ENOMEM);
  if (ret == 0) {
    pool_->markReceived(*frame);
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
  // A damaged frame (frame threading reports it here); decoding goes on with the next one.
  SPDLOG_LOGGER_DEBUG(&logs::codecs(), "ffmpeg: avcodec_receive_frame: {}", avErrorString(ret));
  return true;
}

void FfmpegSession::sendPacket(bool receiveWasEmpty) {
  const int ret = avcodec_send_packet(context_.get(), packets_.front().get());
  if (ret == AVERROR(EAGAIN) && !receiveWasEmpty) {
    needReceive_ = true;  // take frames out first, then send again
    return;
  }
  if (ret < 0) {
    // Corrupt input is the guest's business: logged at debug, decoding continues.
    SPDLOG_LOGGER_DEBUG(&logs::codecs(), "ffmpeg: avcodec_send_packet: {}", avErrorString(ret));
  }
  packets_.pop_front();
  needReceive_ = true;
}

void FfmpegSession::parseInput() {
  std::vector<uint8_t>& bytes = current_->bytes;
  const size_t size = currentSize_;
  if (!parser_) {
    // One buffer is one frame.
    if (size <= kMaxPacketSize) {
      pushPacket(makePacket(bytes.data(), static_cast<int>(size), toPts(current_->timestamp)));
    } else {
      SPDLOG_LOGGER_DEBUG(&logs::codecs(), "ffmpeg: input {} of {} bytes is too large; skipped",
                          current_->id, size);
    }
    currentOffset_ = size;
  } else {
    // The parser reads (and copies) up to AV_INPUT_BUFFER_PADDING_SIZE bytes past its input.
    if (bytes.size() == size) bytes.resize(size + AV_INPUT_BUFFER_PADDING_SIZE, 0);
    const size_t chunk = std::min(size - currentOffset_, kMaxParseChunk);
    uint8_t* out = nullptr;
    int outSize = 0;
    const int used = av_parser_parse2(parser_.get(), context_.get(), &out, &outSize,
                                      bytes.data() + currentOffset_, static_cast<int>(chunk),
                                      toPts(current_->timestamp), AV_NOPTS_VALUE, 0);
    if (outSize > 0) pushPacket(takeParsedPacket(out, outSize));
    if (used < 0 || (used == 0 && outSize == 0)) {
      SPDLOG_LOGGER_DEBUG(&logs::codecs(), "ffmpeg: parser stuck on input {}; skipping it",
                          current_->id);
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

AvPacketPtr FfmpegSession::takeParsedPacket(const uint8_t* data, int size) {
  while (!stamps_.empty() && stamps_.front().end <= parsedOut_) stamps_.pop_front();
  if (!stamps_.empty()) lastTimestamp_ = stamps_.front().timestamp;
  parsedOut_ += static_cast<uint64_t>(size);
  return makePacket(data, size, toPts(lastTimestamp_));
}

void FfmpegSession::resetDecoder() {
  avcodec_flush_buffers(context_.get());
  if (probe_) probe_->flush();
  // libavcodec has no parser reset: a new parser drops any partial frame.
  if (parser_) parser_ = makeParser(format_);
  stamps_.clear();
  parsedIn_ = 0;
  parsedOut_ = 0;
}

// Output resources the guest should allocate for direct rendering: the reference frames, the
// reordering delay, one picture per frame thread in flight, the one being delivered and one kept
// in reserve for copies and the end-of-stream buffer. With fewer the stream bounces.
uint32_t FfmpegSession::minBuffers(int refs, int hasBFrames) const {
  // VP8 keeps 3 references (last, golden, altref); VP9 keeps 8 reference slots, any of which
  // may hold a distinct picture.
  if (format_ == CodedFormat::kVp8) refs = 3;
  if (format_ == CodedFormat::kVp9) refs = 8;
  const int needed =
      std::max(refs, 1) + std::max(hasBFrames, 0) + std::max(context_->thread_count, 1) + 2;
  return std::min(static_cast<uint32_t>(needed), kMaxMinBuffers);
}

PictureReady FfmpegSession::writeFrame(const AVFrame& frame, const buffers::FrameLayout& layout,
                                       OutputTarget& target) const {
  PictureReady ready{
      target.resourceId,
      fromPts(frame.pts != AV_NOPTS_VALUE ? frame.pts : frame.best_effort_timestamp)};
  ready.error = frame.decode_error_flags != 0 || (frame.flags & AV_FRAME_FLAG_CORRUPT) != 0;
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
    SPDLOG_LOGGER_DEBUG(&logs::codecs(), "ffmpeg: resource {}: {}", target.resourceId,
                        written.error().message);
    ready.error = true;
    return ready;
  }
  ready.bytesCopied = *written;
  SPDLOG_LOGGER_TRACE(&logs::codecs(), "ffmpeg: resource {} picture ts={} error={}",
                      target.resourceId, ready.timestamp, ready.error);
  return ready;
}

}  // namespace vdec::codecs
