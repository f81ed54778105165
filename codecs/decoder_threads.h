// SPDX-License-Identifier: MIT
// Decoder threads: how many a stream gets (the daemon-wide budget) and the scheduling priority
// they run at (below the device thread, so commands are answered while decoders run).
#pragma once

#include <functional>
#include <memory>
#include <mutex>

namespace vdec::codecs {

// The thread policy, a pure function (unit-tested):
//   perStreamMax  --threads: 0 = automatic (the host's cores, at most kMaxAutoThreads), else the
//                 stream's maximum (at most kMaxThreads);
//   budget        --thread-budget: decoder threads for all streams together; 0 = the host's cores;
//   streams       streams decoding when this one starts, this one included (>= 1).
// A stream gets min(perStreamMax, budget / streams), at least 1: one stream on 2 cores gets 2,
// a second one started meanwhile gets 1, so 4 streams on 2 cores run 2+1+1+1 threads, not 4x2.
// libavcodec fixes the count when the decoder opens, so a stream keeps what it got.
int decoderThreadsFor(int perStreamMax, int budget, int streams, int cores);

inline constexpr int kMaxAutoThreads = 4;
inline constexpr int kMaxThreads = 16;

// The daemon-wide count of decoding streams that decoderThreadsFor divides the budget by.
// Thread-safe. Shared (shared_ptr) by the backend and the leases it handed out.
class ThreadBudget : public std::enable_shared_from_this<ThreadBudget> {
 public:
  // Held by a session while it decodes; gives its share back on destruction.
  class Lease {
   public:
    Lease() = default;
    Lease(std::shared_ptr<ThreadBudget> budget, int threads)
        : budget_(std::move(budget)), threads_(threads) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&& other) noexcept;
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    int threads() const { return threads_; }

   private:
    std::shared_ptr<ThreadBudget> budget_;
    int threads_ = 1;
  };

  // budget: 0 = the host's cores.
  static std::shared_ptr<ThreadBudget> create(int budget);
  // A lease for one more decoding stream asking for at most `perStreamMax` threads (0: auto).
  Lease lease(int perStreamMax);
  int streams() const;

 private:
  explicit ThreadBudget(int budget) : budget_(budget) {}
  void giveBack();

  const int budget_;
  mutable std::mutex mutex_;
  int streams_ = 0;
};

// How much lower than the device thread decoder threads run: nice +kDecoderNiceIncrement (see
// docs/architecture.md, Threads). An unprivileged daemon cannot raise a thread's priority back.
inline constexpr int kDecoderNiceIncrement = 10;

// The scheduling of decoder threads relative to the device thread.
struct DecoderPriority {
  // Nice increment over the device thread's (0: the same priority); ignored with idlePolicy.
  int niceIncrement = kDecoderNiceIncrement;
  // SCHED_IDLE (--decoder-sched idle): any normal thread that wakes up preempts a decoder at
  // once, the device thread and the VMM's vCPU threads alike; decoders then get the CPU only
  // when no normal thread wants it, so on a busy host they can all but stop.
  bool idlePolicy = false;

  auto operator<=>(const DecoderPriority&) const = default;
};

// Lowers the calling thread to `priority` (Linux: nice and policy are per thread, and threads
// inherit their creator's) and gives it the kernel's default time slice (not the device
// thread's short one, vdec/base/time_slice.h). Best effort: a failure is logged at debug.
void lowerCurrentThreadPriority(DecoderPriority priority);

// Runs `work` on a long-lived thread (one per priority, started at the first call) set up by
// lowerCurrentThreadPriority(priority), and waits for it (the first caller must run at the
// device thread's priority: the thread starts from the caller's nice value): threads that
// `work` creates (libavcodec's frame and slice threads, started by avcodec_open2) inherit its
// priority and slice while the caller keeps its own. `work` must not throw; without a thread to
// spare it runs on the calling thread.
void runAtLowerPriority(DecoderPriority priority, const std::function<void()>& work);

}  // namespace vdec::codecs
