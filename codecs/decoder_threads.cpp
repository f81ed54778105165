// SPDX-License-Identifier: MIT
#include "codecs/decoder_threads.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

#include "vdec/base/logging.h"
#include "vdec/base/time_slice.h"

namespace vdec::codecs {
namespace {

int hostCores() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

}  // namespace

int decoderThreadsFor(int perStreamMax, int budget, int streams, int cores) {
  cores = std::max(cores, 1);
  const int cap = perStreamMax > 0 ? std::min(perStreamMax, kMaxThreads)
                                   : std::min(cores, kMaxAutoThreads);
  const int total = budget > 0 ? budget : cores;
  const int share = total / std::max(streams, 1);
  return std::max(1, std::min(cap, share));
}

ThreadBudget::Lease& ThreadBudget::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (budget_) budget_->giveBack();
    budget_ = std::move(other.budget_);
    threads_ = other.threads_;
  }
  return *this;
}

ThreadBudget::Lease::~Lease() {
  if (budget_) budget_->giveBack();
}

std::shared_ptr<ThreadBudget> ThreadBudget::create(int budget) {
  return std::shared_ptr<ThreadBudget>(new ThreadBudget(std::max(budget, 0)));
}

ThreadBudget::Lease ThreadBudget::lease(int perStreamMax) {
  std::lock_guard lock(mutex_);
  ++streams_;
  return Lease(shared_from_this(), decoderThreadsFor(perStreamMax, budget_, streams_, hostCores()));
}

int ThreadBudget::streams() const {
  std::lock_guard lock(mutex_);
  return streams_;
}

void ThreadBudget::giveBack() {
  std::lock_guard lock(mutex_);
  --streams_;
}

void lowerCurrentThreadPriority(DecoderPriority priority) {
  // The device thread may run with a short slice (--device-slice-us), which new threads inherit:
  // decoders take the kernel's default again.
  requestTimeSlice(std::chrono::nanoseconds(0));
  if (priority.idlePolicy) {
    // Any thread may lower itself to SCHED_IDLE (sched(7)); its nice value no longer counts.
    const sched_param param{};
    if (sched_setscheduler(0, SCHED_IDLE, &param) != 0)
      logs::codecs().debug("sched_setscheduler(SCHED_IDLE) failed: {}", std::strerror(errno));
    return;
  }
  if (priority.niceIncrement <= 0) return;
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int current = getpriority(PRIO_PROCESS, tid);
  if (current == -1 && errno != 0) return;
  if (setpriority(PRIO_PROCESS, tid, std::min(current + priority.niceIncrement, 19)) != 0)
    logs::codecs().debug("setpriority(+{}) failed: {}", priority.niceIncrement,
                         std::strerror(errno));
}

namespace {

// One long-lived thread per priority that runs the work handed to it: libavcodec's
// allocations in avcodec_open2 then always land in the same malloc arena (a new thread per call
// spread them over arenas, and the daemon's memory grew with every stream).
class PriorityWorker {
 public:
  explicit PriorityWorker(DecoderPriority priority)
      : thread_([this, priority] { loop(priority); }) {}
  ~PriorityWorker() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wakeCv_.notify_all();
    thread_.join();
  }
  PriorityWorker(const PriorityWorker&) = delete;
  PriorityWorker& operator=(const PriorityWorker&) = delete;

  void run(const std::function<void()>& work) {
    std::lock_guard caller(callMutex_);  // one job at a time
    std::unique_lock lock(mutex_);
    job_ = &work;
    wakeCv_.notify_all();
    doneCv_.wait(lock, [&] { return job_ == nullptr; });
  }

 private:
  void loop(DecoderPriority priority) {
    lowerCurrentThreadPriority(priority);
    std::unique_lock lock(mutex_);
    while (true) {
      wakeCv_.wait(lock, [&] { return stop_ || job_ != nullptr; });
      if (stop_) return;
      const std::function<void()>* job = job_;
      lock.unlock();
      (*job)();
      lock.lock();
      job_ = nullptr;
      doneCv_.notify_all();
    }
  }

  std::mutex callMutex_;
  std::mutex mutex_;
  std::condition_variable wakeCv_, doneCv_;
  const std::function<void()>* job_ = nullptr;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest exists
};

}  // namespace

void runAtLowerPriority(DecoderPriority priority, const std::function<void()>& work) {
  static std::mutex workersMutex;
  static std::map<DecoderPriority, std::unique_ptr<PriorityWorker>> workers;
  PriorityWorker* worker = nullptr;
  try {
    std::lock_guard lock(workersMutex);
    auto& slot = workers[priority];
    if (!slot) slot = std::make_unique<PriorityWorker>(priority);
    worker = slot.get();
  } catch (const std::system_error&) {
    return work();  // no thread to spare: at the caller's priority rather than not at all
  }
  worker->run(work);
}

}  // namespace vdec::codecs
