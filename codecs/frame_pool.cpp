// SPDX-License-Identifier: MIT
#include "codecs/frame_pool.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "vdec/base/logging.h"

namespace vdec::codecs {
namespace {

bool isPlanar420(int format) {
  return format == AV_PIX_FMT_YUV420P || format == AV_PIX_FMT_YUVJ420P;
}

size_t alignTo(size_t value, size_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

struct ResourceDecision {
  buffers::OutputPathDecision decision;
  std::span<std::byte> mapping;  // the contiguous host mapping, for kDirect
};

// How resource `id` is written under `layout` (buffers::decideOutputPath, then what the decoder
// needs of the mapping), logged. May map a scatter-gather window (about 1 ms for a 1080p
// picture): never with the pool's lock held.
ResourceDecision decideResource(uint32_t id, buffers::ResourceMemory& memory,
                                const buffers::FrameLayout& layout, bool layoutFits,
                                uint32_t lineAlign, const buffers::OutputPathPolicy& policy) {
  ResourceDecision decided{buffers::decideOutputPath(memory, layout, policy), {}};
  buffers::OutputPathDecision& decision = decided.decision;
  if (decision.path == buffers::OutputPath::kDirect) {
    decided.mapping = memory.contiguous();
    if (!layoutFits) {
      decision = {buffers::OutputPath::kBounce,
                  "the layout's rows or strides are too small for the decoder"};
    } else if (reinterpret_cast<uintptr_t>(decided.mapping.data()) % lineAlign != 0) {
      decision = {buffers::OutputPath::kBounce,
                  fmt::format("mapping not aligned to {} bytes", lineAlign)};
    } else if (layout.format == buffers::PixelFormat::kNv12) {
      decision.reason += " (luma; chroma interleaved on output)";
    }
  }
  logs::codecs().info("resource {}: {}: {}", id, buffers::outputPathName(decision.path),
                      decision.reason);
  return decided;
}

}  // namespace

std::shared_ptr<FramePool> FramePool::create(std::shared_ptr<MemoryBudget> budget) {
  return std::shared_ptr<FramePool>(new FramePool(std::move(budget)));
}

FramePool::~FramePool() = default;

void FramePool::attach(AVCodecContext& context) {
  context.opaque = this;
  context.get_buffer2 = &FramePool::getBufferThunk;
}

void FramePool::setWake(std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  wake_ = std::move(wake);
}

void FramePool::wake() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mutex_);
    wake = wake_;
  }
  if (wake) wake();
}

void FramePool::lend(OutputTarget target) {
  std::lock_guard lock(mutex_);
  Slot& slot = slots_[target.resourceId];
  if (slot.target.memory != target.memory) {
    // New memory under this id: the old buffer's AVBuffer (if any) no longer guards it.
    slot.hold = nullptr;
    slot.decision.reset();
    slot.mapping = {};
    ++slot.epoch;
  }
  const uint32_t id = target.resourceId;
  slot.target = std::move(target);
  slot.lent = true;
  slot.withGuest = false;
  if (!lentSinceLayout_.insert(id).second) relent_ = true;
  lastLend_ = std::chrono::steady_clock::now();
  freeCv_.notify_all();
}

FramePool::Cleared FramePool::clear() {
  std::lock_guard lock(mutex_);
  Cleared cleared;
  ++clears_;  // a get_buffer2 waiting for the guest stops waiting
  for (auto& [id, slot] : slots_) {
    slot.withGuest = false;  // the guest has every buffer back: none is expected
    if (!slot.lent) continue;
    cleared.ids.push_back(id);
    slot.lent = false;
    slot.withGuest = false;
    ++slot.epoch;  // a picture decoded into it is no longer delivered in place
    if (slot.hold != nullptr && slot.hold->inFlight) cleared.inFlight = true;
  }
  freeCv_.notify_all();
  return cleared;
}

void FramePool::setLayout(const buffers::FrameLayout& layout, const DecoderAlignment& alignment,
                          std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  ++layouts_;
  layout_ = layout;
  alignment_ = alignment;
  layoutFits_ = layoutFitsDecoder(layout, alignment);
  mode_ = Mode::kUndecided;
  for (auto& [id, slot] : slots_) {
    slot.decision.reset();
    slot.mapping = {};
    slot.withGuest = false;  // buffers of an older layout may never come back
  }
  lentSinceLayout_.clear();
  for (const auto& [id, slot] : slots_) {
    if (slot.lent) lentSinceLayout_.insert(id);
  }
  relent_ = false;
  lastLend_ = now;
  chromaPool_.reset();
  chromaStride_ = 0;
  chromaPlaneSize_ = 0;
  if (layout.format == buffers::PixelFormat::kNv12 && layoutFits_) {
    chromaStride_ = alignTo((alignment.alignedWidth + 1) / 2, alignment.lineAlign);
    chromaPlaneSize_ = chromaStride_ * ((alignment.alignedHeight + 1) / 2);
    chromaPool_.reset(av_buffer_pool_init(2 * chromaPlaneSize_ + alignment.lineAlign, nullptr));
  }
}

bool FramePool::decideResources(const buffers::OutputPathPolicy& policy) {
  std::vector<std::pair<uint32_t, OutputTarget>> pending;
  buffers::FrameLayout layout;
  bool fits = false;
  uint32_t lineAlign = 0;
  {
    std::lock_guard lock(mutex_);
    // Direct rendering decides each resource when get_buffer2 first takes it (getBuffer).
    if (!layout_ || mode_ != Mode::kBounce) return false;
    for (auto& [id, slot] : slots_) {
      if (slot.lent && !slot.decision) pending.emplace_back(id, slot.target);
    }
    layout = *layout_;
    fits = layoutFits_;
    lineAlign = alignment_.lineAlign;
  }
  buffers::OutputPathPolicy resourcePolicy = policy;
  resourcePolicy.enoughBuffers = false;  // bounce: nothing is mapped for the decoder
  for (auto& [id, target] : pending) {
    ResourceDecision decided =
        decideResource(id, *target.memory, layout, fits, lineAlign, resourcePolicy);
    std::lock_guard lock(mutex_);
    auto it = slots_.find(id);
    if (it == slots_.end() || it->second.target.memory != target.memory) continue;
    it->second.decision = std::move(decided.decision);
    it->second.mapping = decided.mapping;
  }
  return !pending.empty();
}

bool FramePool::hasUndecided() const {
  std::lock_guard lock(mutex_);
  if (!layout_ || mode_ != Mode::kBounce) return false;
  for (const auto& [id, slot] : slots_) {
    if (slot.lent && !slot.decision) return true;
  }
  return false;
}

void FramePool::setMode(Mode mode) {
  std::lock_guard lock(mutex_);
  mode_ = mode;
  freeCv_.notify_all();
}

FramePool::Mode FramePool::mode() const {
  std::lock_guard lock(mutex_);
  return mode_;
}

FramePool::LendStats FramePool::lendStats() const {
  std::lock_guard lock(mutex_);
  return {lentSinceLayout_.size(), relent_, lastLend_};
}

FramePool::Hold* FramePool::holdOf(const AVFrame& frame) const {
  if (frame.buf[0] == nullptr) return nullptr;
  auto* hold = static_cast<Hold*>(av_buffer_get_opaque(frame.buf[0]));
  return holds_.count(hold) != 0 ? hold : nullptr;
}

void FramePool::markReceived(const AVFrame& frame) {
  std::shared_ptr<buffers::ResourceMemory> memory;
  {
    std::lock_guard lock(mutex_);
    Hold* hold = holdOf(frame);
    if (hold == nullptr || !hold->inFlight) return;
    hold->inFlight = false;
    memory = hold->memory;
  }
  memory->endCpuAccess();
}

std::optional<OutputTarget> FramePool::claimDirect(const AVFrame& frame) {
  std::lock_guard lock(mutex_);
  Hold* hold = holdOf(frame);
  if (hold == nullptr) return std::nullopt;
  auto it = slots_.find(hold->resourceId);
  if (it == slots_.end()) return std::nullopt;
  Slot& slot = it->second;
  if (slot.hold != hold || slot.epoch != hold->epoch || !slot.lent || hold->delivered) {
    return std::nullopt;
  }
  hold->delivered = true;
  slot.lent = false;
  slot.withGuest = true;
  return slot.target;
}

size_t FramePool::freeCountLocked() const {
  size_t count = 0;
  for (const auto& [id, slot] : slots_) count += slot.lent && slot.hold == nullptr;
  return count;
}

FramePool::Slot* FramePool::pickFreeLocked(bool directOnly) {
  for (auto& [id, slot] : slots_) {
    if (!slot.lent || slot.hold != nullptr) continue;
    if (directOnly && slot.decision && slot.decision->path != buffers::OutputPath::kDirect) {
      continue;  // undecided ones are decided by the getBuffer that takes them
    }
    return &slot;
  }
  return nullptr;
}

std::optional<OutputTarget> FramePool::takeFree() {
  std::lock_guard lock(mutex_);
  Slot* slot = pickFreeLocked(false);
  if (slot == nullptr) return std::nullopt;
  slot->lent = false;
  slot->withGuest = true;
  return slot->target;
}

FramePool::Counts FramePool::counts() const {
  std::lock_guard lock(mutex_);
  Counts counts;
  counts.free = freeCountLocked();
  for (const auto& [id, slot] : slots_) counts.withGuest += slot.withGuest;
  return counts;
}

std::optional<OutputTarget> FramePool::takeForEndOfStream() {
  std::lock_guard lock(mutex_);
  Slot* chosen = pickFreeLocked(false);
  if (chosen == nullptr) {
    for (auto& [id, slot] : slots_) {
      // Still a reference is fine (the EOS buffer is not written); an undelivered picture not.
      if (slot.lent && (slot.hold == nullptr || slot.hold->delivered)) {
        chosen = &slot;
        break;
      }
    }
  }
  if (chosen == nullptr) return std::nullopt;
  chosen->lent = false;
  chosen->withGuest = true;
  return chosen->target;
}

bool FramePool::decideTaken(Hold& hold, uint64_t layoutGeneration,
                            const buffers::FrameLayout& layout, uint32_t lineAlign,
                            std::span<std::byte>& mapping) {
  // Taken only in direct mode, which forced bounce never reaches (FfmpegEngine::applyLayout).
  buffers::OutputPathPolicy policy;
  policy.softwareDecoder = true;
  policy.strideAlign = lineAlign;
  policy.enoughBuffers = true;
  ResourceDecision decided =
      decideResource(hold.resourceId, *hold.memory, layout, true, lineAlign, policy);
  const bool direct = decided.decision.path == buffers::OutputPath::kDirect;
  {
    std::lock_guard lock(mutex_);
    auto it = slots_.find(hold.resourceId);
    // Stored only for the same buffer and layout (lend() with new memory under this id and
    // setLayout() reset decisions: one made meanwhile is not theirs).
    if (it != slots_.end() && it->second.target.memory == hold.memory &&
        layouts_ == layoutGeneration && !it->second.decision) {
      it->second.decision = std::move(decided.decision);
      it->second.mapping = decided.mapping;
    }
    if (!direct) hold.inFlight = false;  // never handed out: no CPU access to end
  }
  if (!direct) {
    release(&hold);
    return false;
  }
  mapping = decided.mapping;
  return true;
}

int FramePool::getBufferThunk(AVCodecContext* context, AVFrame* frame, int flags) {
  return static_cast<FramePool*>(context->opaque)->getBuffer(context, frame, flags);
}

void FramePool::releaseThunk(void* opaque, uint8_t* /*data*/) {
  auto* hold = static_cast<Hold*>(opaque);
  hold->pool->release(hold);
}

void FramePool::release(Hold* hold) {
  std::shared_ptr<buffers::ResourceMemory> memory;
  bool endAccess = false;
  {
    std::lock_guard lock(mutex_);
    holds_.erase(hold);
    auto it = slots_.find(hold->resourceId);
    if (it != slots_.end() && it->second.hold == hold) it->second.hold = nullptr;
    endAccess = hold->inFlight;  // never received (flushed or dropped by libavcodec)
    memory = std::move(hold->memory);
  }
  // The hold may carry the last reference to this pool: keep it until we are done.
  std::shared_ptr<FramePool> self = std::move(hold->pool);
  delete hold;
  if (endAccess && memory) memory->endCpuAccess();
  freeCv_.notify_all();
  wake();
}

// Hands libavcodec the next free lent resource, planes where the layout puts them; anything
// else gets a host frame. When every free resource is taken but the guest still has some (it
// is reading delivered pictures and will queue them again), waits up to kReturnWait for one
// (ended early by a clear): the device thread lends them, so this never waits on the session
// thread.
int FramePool::getBuffer(AVCodecContext* context, AVFrame* frame, int flags) {
  if ((context->codec->capabilities & AV_CODEC_CAP_DR1) == 0 || !isPlanar420(frame->format)) {
    return hostFrames_.allocate(context, frame, flags);
  }
  Hold* hold = nullptr;
  std::span<std::byte> mapping;
  buffers::FrameLayout layout;
  bool undecided = false;
  uint64_t layoutGeneration = 0;
  uint32_t lineAlign = 0;
  size_t chromaStride = 0;
  size_t chromaPlaneSize = 0;
  AvBufferRefPtr chroma;
  {
    std::unique_lock lock(mutex_);
    const bool fits = mode_ == Mode::kDirect && layout_ && layoutFits_ &&
                      static_cast<uint32_t>(frame->width) == alignment_.codedWidth &&
                      static_cast<uint32_t>(frame->height) == alignment_.codedHeight;
    if (fits && freeCountLocked() < 2) {
      const uint64_t clears = clears_;
      freeCv_.wait_for(lock, kReturnWait, [this, clears] {
        if (mode_ != Mode::kDirect || freeCountLocked() >= 2 || clears_ != clears) return true;
        for (const auto& [id, slot] : slots_) {
          if (slot.withGuest) return false;
        }
        return true;  // nothing will come back from the guest: use a host frame now
      });
    }
    // One free resource stays in reserve for host pictures and the end-of-stream buffer.
    Slot* slot = fits && freeCountLocked() >= 2 ? pickFreeLocked(true) : nullptr;
    if (slot != nullptr && layout_->format == buffers::PixelFormat::kNv12) {
      if (chromaPool_) chroma.reset(av_buffer_pool_get(chromaPool_.get()));
      if (chroma == nullptr) slot = nullptr;
    }
    if (slot == nullptr) {
      // Host frame below, without the lock.
    } else {
      hold = new Hold{shared_from_this(), slot->target.resourceId, slot->target.memory,
                      slot->epoch};
      holds_.insert(hold);
      slot->hold = hold;
      mapping = slot->mapping;
      undecided = !slot->decision.has_value();
      layoutGeneration = layouts_;
      layout = *layout_;
      lineAlign = alignment_.lineAlign;
      chromaStride = chromaStride_;
      chromaPlaneSize = chromaPlaneSize_;
    }
  }
  if (hold != nullptr && undecided &&
      !decideTaken(*hold, layoutGeneration, layout, lineAlign, mapping)) {
    hold = nullptr;  // released: the picture goes to a host frame
  }
  if (hold == nullptr) return hostFrames_.allocate(context, frame, flags);

  hold->memory->beginCpuAccess();
  auto* base = reinterpret_cast<uint8_t*>(mapping.data());
  frame->buf[0] = av_buffer_create(base, mapping.size(), &FramePool::releaseThunk, hold, 0);
  if (frame->buf[0] == nullptr) {
    release(hold);  // frees the resource as if libavcodec had released it
    return AVERROR(ENOMEM);
  }
  frame->data[0] = base + layout.planes[0].offset;
  frame->linesize[0] = static_cast<int>(layout.planes[0].stride);
  if (layout.format == buffers::PixelFormat::kNv12) {
    frame->data[1] = chroma->data;
    frame->data[2] = chroma->data + chromaPlaneSize;
    frame->buf[1] = chroma.release();  // the frame owns it now
    frame->linesize[1] = frame->linesize[2] = static_cast<int>(chromaStride);
  } else {
    // libavcodec's plane 1 is U: I420 keeps it in layout plane 1, YV12 in plane 2.
    const bool yv12 = layout.format == buffers::PixelFormat::kYv12;
    const buffers::PlaneLayout& u = layout.planes[yv12 ? 2 : 1];
    const buffers::PlaneLayout& v = layout.planes[yv12 ? 1 : 2];
    frame->data[1] = base + u.offset;
    frame->data[2] = base + v.offset;
    frame->linesize[1] = static_cast<int>(u.stride);
    frame->linesize[2] = static_cast<int>(v.stride);
  }
  frame->extended_data = frame->data;
  return 0;
}

}  // namespace vdec::codecs
