// SPDX-License-Identifier: MIT
// SessionWorker (see session_worker.h): the thread, the DecoderSession side, phases, delivery,
// reset, clears and drains. The input side (decode step, idle flush) is session_worker_input.cpp.
#include "codecs/session_worker.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include "vdec/base/logging.h"

namespace vdec::codecs {
namespace {

constexpr uint32_t kMaxMinBuffers = 32;

}  // namespace

uint32_t minOutputBuffers(CodedFormat format, int refs, int hasBFrames, int picturesInFlight) {
  if (format == CodedFormat::kVp8) refs = 3;  // last, golden, altref
  if (format == CodedFormat::kVp9) refs = 8;  // reference slots, any may hold its own picture
  // AV1: 8 reference slots too; show_existing_frame outputs a slot's picture again (a copy:
  // libdav1d decodes into its own pictures, never into the guest's).
  if (format == CodedFormat::kAv1) refs = 8;
  const int needed =
      std::max(refs, 1) + std::max(hasBFrames, 0) + std::max(picturesInFlight, 1) + 2;
  return std::min(static_cast<uint32_t>(needed), kMaxMinBuffers);
}

Result<std::unique_ptr<DecoderSession>> startSessionWorker(CodedFormat format,
                                                           const SessionOptions& options,
                                                           std::unique_ptr<DecoderEngine> engine) {
  try {
    return std::unique_ptr<DecoderSession>(
        std::make_unique<SessionWorker>(format, options, std::move(engine)));
  } catch (const std::system_error& error) {
    return makeError(ErrorCode::kOutOfMemory, "cannot start a session thread: {}", error.what());
  }
}

SessionWorker::SessionWorker(CodedFormat format, SessionOptions options,
                             std::unique_ptr<DecoderEngine> engine)
    : format_(format),
      options_(std::move(options)),
      engine_(std::move(engine)),
      errors_(engine_->context().opaque),
      packetizer_(format),
      loop_(engine_->context()),
      thread_([this] { run(); }) {
  engine_->setWake([this] { wake(); });
}

SessionWorker::~SessionWorker() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    pokeLocked();
  }
  thread_.join();
  engine_->setWake(nullptr);
  // Our frames drop their buffers before the engine (and its decoder) goes.
  decoded_.clear();
}

// Resources came back (any thread). On the session thread the loop looks again anyway, and may
// hold the mutex (a frame released under it).
void SessionWorker::wake() {
  if (std::this_thread::get_id() == thread_.get_id()) return;
  std::lock_guard lock(mutex_);
  pokeLocked();
}

void SessionWorker::decode(uint32_t inputId, uint64_t timestamp, std::vector<uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  input_.push_back(QueuedInput{InputChunk{inputId, timestamp, std::move(bytes)}, false});
  pokeLocked();
}

void SessionWorker::queueOutput(OutputTarget target) {
  engine_->lend(std::move(target));
  std::lock_guard lock(mutex_);
  pokeLocked();
}

void SessionWorker::setOutputLayout(const buffers::FrameLayout& layout) {
  std::lock_guard lock(mutex_);
  layout_ = layout;
  layoutChanged_ = true;
  pokeLocked();
}

void SessionWorker::setGuestBufferCount(uint32_t count) {
  std::lock_guard lock(mutex_);
  guestBuffers_ = count;
}

void SessionWorker::clearOutput() {
  ClearedTargets cleared = engine_->clear();
  std::lock_guard lock(mutex_);
  pendingClears_.push_back(std::move(cleared));
  pokeLocked();
}

void SessionWorker::flush() {
  std::lock_guard lock(mutex_);
  input_.push_back(QueuedInput{{}, true});
  pokeLocked();
}

void SessionWorker::reset() {
  std::lock_guard lock(mutex_);
  for (const QueuedInput& input : input_) {
    if (!input.flush) cancelledInputs_.push_back(input.chunk.id);
  }
  input_.clear();
  ++pendingResets_;
  pokeLocked();
}

std::vector<DecoderEvent> SessionWorker::takeEvents() {
  std::lock_guard lock(mutex_);
  return std::exchange(events_, {});
}

// Wakes the session thread (mutex held). The count makes a wake-up that came while a step ran
// without the mutex count: the thread only sleeps if nothing poked it since the step began.
void SessionWorker::pokeLocked() {
  ++pokes_;
  workCv_.notify_one();
}

void SessionWorker::run() {
  // The decoder opens here, not on the device thread: commands are queued meanwhile. Before
  // this thread lowers itself: the helper thread that opens it (decoder_threads.h), if this
  // call starts it, takes this thread's priority (the device thread's) and lowers itself.
  Status opened = engine_->open();
  // Decoding yields to the device thread, which answers commands (decoder_threads.h).
  lowerCurrentThreadPriority(options_.priority);
  std::unique_lock lock(mutex_);
  if (!opened) {
    fail(std::move(opened.error().message));
    loopNeedsReset_ = false;  // nothing to reset in a decoder that never opened
  }
  while (!stop_) {
    if (notifyPending_) {
      notifyPending_ = false;
      lock.unlock();
      if (options_.notify) options_.notify();
      lock.lock();
      continue;
    }
    const uint64_t seen = pokes_;
    // A step may post events and still report no progress: they are notified first.
    if (step(lock) || notifyPending_) continue;
    const auto poked = [this, seen] { return stop_ || pokes_ != seen; };
    if (wakeAt_) {
      workCv_.wait_until(lock, *wakeAt_, poked);
    } else {
      workCv_.wait(lock, poked);
    }
  }
}

bool SessionWorker::step(std::unique_lock<std::mutex>& lock) {
  wakeAt_.reset();
  if (pendingResets_ > 0) {
    handleReset(lock);
    return true;
  }
  if (layoutChanged_) {
    applyLayout(lock);
    return true;
  }
  if (!pendingClears_.empty()) {
    handleClears(lock);
    return true;
  }
  if (deliverStep(lock) || drainEndStep()) {
    idleSince_.reset();
    return true;
  }
  return decodeStep(lock);
}

void SessionWorker::handleReset(std::unique_lock<std::mutex>& lock) {
  std::vector<uint32_t> cancelled = std::exchange(cancelledInputs_, {});
  const int resets = std::exchange(pendingResets_, 0);
  std::deque<AvFramePtr> dropped = std::exchange(decoded_, {});
  lock.unlock();
  std::vector<uint32_t> partial = packetizer_.reset();
  cancelled.insert(cancelled.begin(), partial.begin(), partial.end());
  dropped.clear();
  loop_.reset();
  engine_->dropProbe();
  probed_.reset();
  lock.lock();
  drain_.reset();  // a flush in progress ends without FlushDone
  idleSince_.reset();
  if (in<Starting>(phase_)) probeFailed_ = true;  // the probe is gone: nothing waits for it
  postLocked(ResetDone{std::move(cancelled)});
  for (int i = 1; i < resets; ++i) postLocked(ResetDone{});
}

void SessionWorker::applyLayout(std::unique_lock<std::mutex>& lock) {
  layoutChanged_ = false;
  const std::optional<buffers::FrameLayout> layout = layout_;
  const std::optional<uint32_t> guestBuffers = guestBuffers_;
  if (!layout || !geometry_) return;
  lock.unlock();
  engine_->applyLayout(*layout, minBuffers_, guestBuffers);
  lock.lock();
  appliedLayout_ = layout;
  if (in<AwaitingLayout>(phase_)) phase_ = Decoding{};
}

// Output resources taken back: pictures being written were written before this step; pictures
// libavcodec may still be decoding into them come out of a drain (and are delivered later, by
// copy). Then the guest may have them.
void SessionWorker::handleClears(std::unique_lock<std::mutex>& lock) {
  std::vector<ClearedTargets> clears = std::exchange(pendingClears_, {});
  const bool decodingIntoCleared = std::any_of(
      clears.begin(), clears.end(), [](const ClearedTargets& c) { return c.decodingIntoCleared; });
  lock.unlock();
  if (decodingIntoCleared) drainNow();
  for (const ClearedTargets& cleared : clears) engine_->settleCleared(cleared);
  lock.lock();
  for (ClearedTargets& cleared : clears) postLocked(OutputCleared{std::move(cleared.ids)});
}

// Runs a drain to its end on this thread (without the lock): a drain already in progress, or a
// quiesce that leaves queued packets queued (they go in after the replay).
void SessionWorker::drainNow() {
  const bool quiesce = !loop_.draining() && !loop_.drained();
  if (quiesce) {
    loop_.startDrain(/*keepQueued=*/true);
    logs::codecs().debug("{}: output cleared while decoding into it; draining", engine_->name());
  }
  // A guest flush in progress sends what it queued first (resources being cleared, pictures go
  // to host frames).
  const bool send = !quiesce && drain_ == DrainKind::kFlush;
  while (!loop_.drained()) {
    AvFramePtr frame;
    if (loop_.step(send, frame) == DecodeLoop::Step::kIdle) break;
    if (frame) {
      engine_->received(*frame);
      decoded_.push_back(std::move(frame));
    }
  }
  if (quiesce) loop_.endDrain();
}

bool SessionWorker::deliverStep(std::unique_lock<std::mutex>& lock) {
  if (in<Starting>(phase_) && probed_) {
    // The probe saw the first picture before the real decoder gave it out.
    const ProbedFormat probed = *std::exchange(probed_, std::nullopt);
    engine_->dropProbe();
    announce(probed.geometry, probed.refs, probed.hasBFrames);
    return true;
  }
  if (decoded_.empty() || in<Failed>(phase_)) return false;
  const AVFrame& frame = *decoded_.front();
  Result<FrameGeometry> geometry = engine_->geometryOf(frame);
  if (!geometry) {
    fail(std::move(geometry.error().message));
    return true;
  }
  if (*geometry != geometry_) {
    engine_->dropProbe();
    probed_.reset();
    const AVCodecContext& context = engine_->context();
    announce(*geometry, context.refs, context.has_b_frames);
    return true;
  }
  if (!in<Decoding>(phase_) || !appliedLayout_) return false;
  const buffers::FrameLayout layout = *appliedLayout_;
  lock.unlock();
  std::optional<PictureReady> ready = engine_->deliver(frame, layout);
  if (ready) {
    ready->timestamp = packetizer_.timestampOf(frame.pts);
    ready->error = ready->error || damaged(frame);
    decoded_.pop_front();
  }
  lock.lock();
  if (!ready) return false;
  SPDLOG_LOGGER_TRACE(&logs::codecs(), "{}: resource {} picture ts={} {}", engine_->name(),
                      ready->resourceId, ready->timestamp, buffers::outputPathName(ready->path));
  postLocked(*ready);
  return true;
}

bool SessionWorker::damaged(const AVFrame& frame) const {
  if (pictureDamaged(frame)) return true;
  if (frame.pts == AV_NOPTS_VALUE) return false;
  const auto seq = static_cast<uint64_t>(frame.pts);
  return errors_.erred(seq) || (packetizer_.secondField(frame.pts + 1) && errors_.erred(seq + 1));
}

// The end of a drain: a guest flush gets its empty EOS buffer and FlushDone; an idle flush
// simply ends (its pictures are delivered as usual).
bool SessionWorker::drainEndStep() {
  if (!drain_ || !decoded_.empty()) return false;
  const bool failed = in<Failed>(phase_);
  if (!loop_.drained() && !failed) return false;
  if (*drain_ == DrainKind::kFlush) {
    std::optional<uint32_t> target = engine_->takeEndOfStreamTarget();
    if (!target) return false;
    postLocked(PictureReady{*target, 0, false, true, 0});
    postLocked(FlushDone{});
  }
  drain_.reset();
  loop_.endDrain();
  return true;
}

void SessionWorker::announce(const FrameGeometry& geometry, int refs, int hasBFrames) {
  if (Status supported = checkOutputPixelFormat(geometry.pixelFormat); !supported) {
    fail(std::move(supported.error().message));
    return;
  }
  geometry_ = geometry;
  phase_ = AwaitingLayout{};
  appliedLayout_.reset();
  StreamFormat format{geometry.codedWidth, geometry.codedHeight, geometry.visible,
                      minOutputBuffers(format_, refs, hasBFrames, engine_->picturesInFlight())};
  engine_->describe(geometry, format);
  minBuffers_ = format.minBuffers;
  logs::codecs().debug(
      "{}: format {}x{} visible ({},{}) {}x{} min buffers {}, strides /{}, rows /{} +{}",
      engine_->name(), format.codedWidth, format.codedHeight, format.visible.left,
      format.visible.top, format.visible.width, format.visible.height, format.minBuffers,
      format.strideAlign, format.heightAlign, format.extraRows);
  postLocked(FormatChanged{format});
}

// Mutex held: libavcodec is reset later, by failedStep() without the lock (its threads may need
// the mutex to finish).
void SessionWorker::fail(std::string message) {
  logs::codecs().error("{}: {}", engine_->name(), message);
  phase_ = Failed{};
  loopNeedsReset_ = true;
  for (uint32_t id : packetizer_.reset()) postLocked(InputDone{id});
  postLocked(StreamError{std::move(message)});
}

}  // namespace vdec::codecs
