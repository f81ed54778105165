// SPDX-License-Identifier: MIT
// FramePool: the output resources lent to one FfmpegEngine, and libavcodec's get_buffer2 that
// decodes straight into them (direct rendering).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <unordered_set>
#include <vector>

#include "buffers/frame_layout.h"
#include "buffers/output_path.h"
#include "codecs/av_ptr.h"
#include "codecs/decoder_session.h"
#include "codecs/direct_layout.h"
#include "codecs/host_frame_allocator.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/buffer.h>
}

namespace vdec::codecs {

// Life of an output resource in the pool (one per session, shared by the FfmpegEngine and
// libavcodec's get_buffer2):
//
//   lend() ──> free ──get_buffer2──> decoding (libavcodec writes it) ──received──> picture
//    ^                                                                                │
//    │        claimDirect(): PictureReady, the guest owns it; libavcodec may still    │
//    │        read it as a reference (the AVBuffer is alive)  <──────────────────────┘
//    └── guest re-queues (lend()) ── free again only once the AVBuffer is released
//
// The reference rule: a resource is handed to libavcodec for a new picture only when the device
// has lent it (the guest queued it) AND no AVBuffer on its memory is alive (libavcodec and the
// session have dropped every reference to the previous picture in it). One resource, at most
// one AVBuffer at a time.
//
// get_buffer2 waits only for resources out with the guest, at most kReturnWait (a clear ends the
// wait): the guest is reading delivered pictures and queues them again through the device
// thread, never through the session thread, so the wait cannot deadlock. After it, or with no
// free resource, in bounce mode, or for a picture that does not fit the layout, it hands
// libavcodec a host frame (avcodec_default_get_buffer2) and the picture is copied out on
// delivery. One free resource stays in reserve for such copies and for the end-of-stream
// buffer, so a stream can never end up with every lent resource held as a reference while a
// host picture waits for one.
//
// Threads: get_buffer2 and the AVBuffer free callback run on libavcodec's threads (frame
// threads, or whichever thread drops the last reference); everything else on the session's
// threads. All state is under the pool's own mutex, which is never held while calling out
// (libavcodec, ResourceMemory, the wake callback).
class FramePool : public std::enable_shared_from_this<FramePool> {
 public:
  enum class Mode { kUndecided, kDirect, kBounce };

  // Host pictures are charged to `budget` (may be null): HostFrameAllocator.
  static std::shared_ptr<FramePool> create(std::shared_ptr<MemoryBudget> budget = nullptr);
  ~FramePool();

  // Installs get_buffer2 on `context` (before avcodec_open2). The pool must outlive the context.
  void attach(AVCodecContext& context);
  // `wake` is called (without the pool's lock, from any thread) when a resource may have become
  // free; null stops the calls.
  void setWake(std::function<void()> wake);

  // Device thread: the guest queued this resource (again). Memory different from the last one
  // under this id is a new buffer (its decision is made again).
  void lend(OutputTarget target);
  // Device thread: takes back every lent resource; none is expected back from the guest any
  // more. Returns their ids and whether a picture may still be being decoded into one of them
  // (then the session must drain libavcodec before telling the guest).
  struct Cleared {
    std::vector<uint32_t> ids;
    bool inFlight = false;
  };
  Cleared clear();

  // Session thread: a new output layout; resets decisions and the buffer count.
  void setLayout(const buffers::FrameLayout& layout, const DecoderAlignment& alignment,
                 std::chrono::steady_clock::time_point now);
  // Session thread, bounce mode: decides, once per resource and layout, how each lent resource
  // is written (buffers::decideOutputPath) and logs it. Returns whether a resource was decided.
  // In direct mode it does nothing: get_buffer2 decides a resource when it first takes it, so
  // a scatter-gather window is mapped (about 1 ms at 1080p) when the decoder first needs it,
  // not all of them before the first picture.
  bool decideResources(const buffers::OutputPathPolicy& policy);
  // Bounce mode: a lent resource waits for decideResources() (with a layout).
  bool hasUndecided() const;
  void setMode(Mode mode);
  Mode mode() const;
  // Distinct resources lent since the layout, whether one came back a second time, and when the
  // last one was lent.
  struct LendStats {
    size_t distinct = 0;
    bool relent = false;
    std::chrono::steady_clock::time_point lastLend;
  };
  LendStats lendStats() const;

  // Session thread, after avcodec_receive_frame: the picture's decoding is over.
  void markReceived(const AVFrame& frame);
  // Session thread: for a decoded frame, the resource it was decoded into, if it still may be
  // delivered as is (lent, not cleared, same memory). The resource is no longer lent after this.
  std::optional<OutputTarget> claimDirect(const AVFrame& frame);
  // Session thread: a lent resource with no picture in it and no live AVBuffer, for a copy.
  std::optional<OutputTarget> takeFree();
  // Session thread: a lent resource for the empty end-of-stream buffer (it is not written, so
  // one still read as a reference will do).
  std::optional<OutputTarget> takeForEndOfStream();
  // Resources free for a new picture, and resources delivered to the guest since the layout
  // and not queued again yet (they are expected back).
  struct Counts {
    size_t free = 0;
    size_t withGuest = 0;
  };
  Counts counts() const;

  // libavcodec's get_buffer2 (any thread).
  int getBuffer(AVCodecContext* context, AVFrame* frame, int flags);
  // Host pictures (every get_buffer2 not served from a lent resource).
  HostFrameAllocator& hostFrames() { return hostFrames_; }

 private:
  struct Hold;
  struct Slot {
    OutputTarget target;
    bool lent = false;
    bool withGuest = false;       // delivered (or returned for EOS) and not lent again yet
    uint64_t epoch = 0;           // bumped when cleared or when its memory changes
    Hold* hold = nullptr;         // the live AVBuffer on the current memory, if any
    std::optional<buffers::OutputPathDecision> decision;
    std::span<std::byte> mapping;  // the contiguous host mapping, for kDirect
  };
  // Opaque of the AVBuffer handed to libavcodec: keeps pool and memory alive.
  struct Hold {
    std::shared_ptr<FramePool> pool;
    uint32_t resourceId = 0;
    std::shared_ptr<buffers::ResourceMemory> memory;
    uint64_t epoch = 0;
    bool inFlight = true;   // from get_buffer2 until received (or released)
    bool delivered = false;
  };

  explicit FramePool(std::shared_ptr<MemoryBudget> budget) : hostFrames_(std::move(budget)) {}
  static int getBufferThunk(AVCodecContext* context, AVFrame* frame, int flags);
  static void releaseThunk(void* opaque, uint8_t* data);
  void release(Hold* hold);
  Hold* holdOf(const AVFrame& frame) const;  // lock held
  size_t freeCountLocked() const;
  // directOnly: not one decided for another path (undecided ones may be taken).
  Slot* pickFreeLocked(bool directOnly);
  // getBuffer, lock not held: decides the resource it took for `hold` (mapping its window);
  // true with `mapping` set if the decoder writes it, else the hold is released.
  bool decideTaken(Hold& hold, uint64_t layoutGeneration, const buffers::FrameLayout& layout,
                   uint32_t lineAlign, std::span<std::byte>& mapping);
  void wake();

  mutable std::mutex mutex_;
  // Signalled whenever a resource may have become free (lend, release, clear, mode change).
  std::condition_variable freeCv_;
  // How long get_buffer2 waits for a resource the guest still has before using a host frame.
  static constexpr std::chrono::milliseconds kReturnWait{500};
  uint64_t clears_ = 0;  // clear() calls, so that a waiting get_buffer2 notices one
  std::function<void()> wake_;
  std::map<uint32_t, Slot> slots_;
  std::unordered_set<Hold*> holds_;  // every live Hold, including those of cleared resources
  Mode mode_ = Mode::kUndecided;
  std::optional<buffers::FrameLayout> layout_;
  uint64_t layouts_ = 0;  // setLayout() calls: a decision made meanwhile is for an older one
  DecoderAlignment alignment_;
  bool layoutFits_ = false;
  AvBufferPoolPtr chromaPool_;  // NV12: the planar chroma libavcodec decodes into
  size_t chromaStride_ = 0;
  size_t chromaPlaneSize_ = 0;
  std::set<uint32_t> lentSinceLayout_;
  bool relent_ = false;
  std::chrono::steady_clock::time_point lastLend_{};
  HostFrameAllocator hostFrames_;  // thread-safe on its own
};

}  // namespace vdec::codecs
