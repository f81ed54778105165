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
  context->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  // We crop exactly ourselves: libavcodec would round odd left/top crops to keep alignment.
  context->apply_cropping = 0;
  if (const int ret = avcodec_open2(context.get(), codec, nullptr); ret < 0) {
    return makeError(ErrorCode::kBackendFailure, "avcodec_open2({}) failed: {}", codec->name,
                     avErrorString(ret));
  }
  auto session =
      std::unique_ptr<FfmpegSession>(new FfmpegSession(format, options, std::move(context)));
  if (format != CodedFormat::kVp8 && !session->parser_) {
    return makeError(ErrorCode::kBackendFailure, "av_parser_init({}) failed", codec->name);
  }
  logs::codecs().debug("ffmpeg: {} session, {} threads", codec->name,
                       session->context_->thread_count);
  return session;
}

FfmpegSession::FfmpegSession(CodedFormat format, SessionOptions options, AvCodecContextPtr context)
    : format_(format),
      options_(std::move(options)),
      context_(std::move(context)),
      parser_(makeParser(format)),
      thread_([this] { run(); }) {}

FfmpegSession::~FfmpegSession() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  workCv_.notify_one();
  thread_.join();
}

void FfmpegSession::decode(uint32_t inputId, uint64_t timestamp, std::vector<uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  input_.push_back(Input{inputId, timestamp, std::move(bytes), false});
  workCv_.notify_one();
}

void FfmpegSession::queueOutput(OutputTarget target) {
  std::lock_guard lock(mutex_);
  free_.push_back(std::move(target));
  workCv_.notify_one();
}

void FfmpegSession::setOutputLayout(const buffers::FrameLayout& layout) {
  std::lock_guard lock(mutex_);
  layout_ = layout;
  awaitingLayout_ = false;
  workCv_.notify_one();
}

std::vector<uint32_t> FfmpegSession::clearOutput() {
  std::unique_lock lock(mutex_);
  writeCv_.wait(lock, [this] { return !writing_; });
  std::vector<uint32_t> ids;
  for (const OutputTarget& target : free_) ids.push_back(target.resourceId);
  free_.clear();
  return ids;
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
    if (!step(lock)) workCv_.wait(lock);
  }
}

bool FfmpegSession::step(std::unique_lock<std::mutex>& lock) {
  if (pendingResets_ > 0) {
    handleReset(lock);
    return true;
  }
  return deliverStep(lock) || endOfStreamStep(lock) || decodeStep(lock);
}

void FfmpegSession::handleReset(std::unique_lock<std::mutex>& lock) {
  std::vector<uint32_t> cancelled;
  if (current_) cancelled.push_back(current_->id);  // partly parsed: never reported done
  current_.reset();
  cancelled.insert(cancelled.end(), cancelledInputs_.begin(), cancelledInputs_.end());
  cancelledInputs_.clear();
  const int resets = std::exchange(pendingResets_, 0);
  decoded_.clear();
  pendingPacket_.reset();
  needReceive_ = false;
  drain_ = Drain::kNone;  // a flush in progress ends without FlushDone
  lock.unlock();
  resetDecoder();
  lock.lock();
  postLocked(ResetDone{std::move(cancelled)});
  for (int i = 1; i < resets; ++i) postLocked(ResetDone{});
}

bool FfmpegSession::deliverStep(std::unique_lock<std::mutex>& lock) {
  if (decoded_.empty()) return false;
  const FrameGeometry geometry = frameGeometry(*decoded_.front());
  if (geometry != geometry_) {
    if (Status supported = checkOutputPixelFormat(geometry.pixelFormat); !supported) {
      fail(std::move(supported.error().message));
      return true;
    }
    geometry_ = geometry;
    awaitingLayout_ = true;
    StreamFormat format{geometry.codedWidth, geometry.codedHeight, geometry.visible, minBuffers()};
    logs::codecs().debug("ffmpeg: format {}x{} visible ({},{}) {}x{} min buffers {}",
                         format.codedWidth, format.codedHeight, format.visible.left,
                         format.visible.top, format.visible.width, format.visible.height,
                         format.minBuffers);
    postLocked(FormatChanged{format});
    return true;
  }
  if (awaitingLayout_ || !layout_ || free_.empty()) return false;
  OutputTarget target = std::move(free_.front());
  free_.pop_front();
  AvFramePtr frame = std::move(decoded_.front());
  decoded_.pop_front();
  const buffers::FrameLayout layout = *layout_;
  writing_ = true;
  lock.unlock();
  PictureReady ready = writeFrame(*frame, layout, target);
  frame.reset();
  target.memory.reset();
  lock.lock();
  writing_ = false;
  writeCv_.notify_all();
  postLocked(ready);
  return true;
}

bool FfmpegSession::endOfStreamStep(std::unique_lock<std::mutex>& lock) {
  if (drain_ != Drain::kDone || !decoded_.empty() || free_.empty()) return false;
  const uint32_t resourceId = free_.front().resourceId;
  free_.pop_front();
  postLocked(PictureReady{resourceId, 0, false, true, 0});
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
  const bool busy = pendingPacket_ || current_ || needReceive_ || drain_ != Drain::kNone;
  if (!busy) {
    if (input_.empty()) return false;
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
  decodeOnce();
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
  pendingPacket_.reset();
  needReceive_ = false;
  if (current_) postLocked(InputDone{current_->id});
  current_.reset();
  if (drain_ != Drain::kNone) drain_ = Drain::kDone;
  postLocked(StreamError{std::move(message)});
}

void FfmpegSession::decodeOnce() {
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
    if (ret < 0) logs::codecs().debug("ffmpeg: drain: {}", avErrorString(ret));
    drain_ = Drain::kReceiving;
  } else if (drain_ == Drain::kReceiving) {
    logs::codecs().debug("ffmpeg: drain: decoder wants input; ending the drain");
    drain_ = Drain::kDone;
  }
}

// Returns true when the call changed something (a frame, or the end of a drain).
bool FfmpegSession::receiveFrame() {
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
  // A damaged frame (frame threading reports it here); decoding goes on with the next one.
  SPDLOG_LOGGER_DEBUG(&logs::codecs(), "ffmpeg: avcodec_receive_frame: {}", avErrorString(ret));
  return true;
}

void FfmpegSession::sendPacket(bool receiveWasEmpty) {
  const int ret = avcodec_send_packet(context_.get(), pendingPacket_.get());
  if (ret == AVERROR(EAGAIN) && !receiveWasEmpty) {
    needReceive_ = true;  // take frames out first, then send again
    return;
  }
  if (ret < 0) {
    // Corrupt input is the guest's business: logged at debug, decoding continues.
    SPDLOG_LOGGER_DEBUG(&logs::codecs(), "ffmpeg: avcodec_send_packet: {}", avErrorString(ret));
  }
  pendingPacket_.reset();
  needReceive_ = true;
}

void FfmpegSession::parseInput() {
  std::vector<uint8_t>& bytes = current_->bytes;
  const size_t size = currentSize_;
  if (!parser_) {
    // One buffer is one frame.
    if (size <= kMaxPacketSize) {
      pendingPacket_ = makePacket(bytes.data(), static_cast<int>(size), toPts(current_->timestamp));
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
    if (outSize > 0) pendingPacket_ = takeParsedPacket(out, outSize);
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
  // libavcodec has no parser reset: a new parser drops any partial frame.
  if (parser_) parser_ = makeParser(format_);
  stamps_.clear();
  parsedIn_ = 0;
  parsedOut_ = 0;
}

// Output resources the guest should allocate: the reference frames, the reordering delay and
// two in flight. Pictures are copied out, so frame threads need no extra guest buffers.
uint32_t FfmpegSession::minBuffers() const {
  int refs = context_->refs;
  if (format_ == CodedFormat::kVp8 || format_ == CodedFormat::kVp9) refs = 3;
  const int needed = std::max(refs, 1) + std::max(context_->has_b_frames, 0) + 2;
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
