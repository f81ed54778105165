// SPDX-License-Identifier: MIT
#include "codecs/decoder_threads.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
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

void lowerCurrentThreadPriority(int increment) {
  // The device thread may run with a short slice (--device-slice-us), which new threads inherit:
  // decoders take the kernel's default again.
  requestTimeSlice(std::chrono::nanoseconds(0));
  if (increment <= 0) return;
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int current = getpriority(PRIO_PROCESS, tid);
  if (current == -1 && errno != 0) return;
  if (setpriority(PRIO_PROCESS, tid, std::min(current + increment, 19)) != 0)
    logs::codecs().debug("setpriority(+{}) failed: {}", increment, std::strerror(errno));
}

void runAtLowerPriority(int increment, const std::function<void()>& work) {
  try {
    std::thread helper([&] {
      lowerCurrentThreadPriority(increment);
      work();
    });
    helper.join();
  } catch (const std::system_error&) {
    work();  // no thread to spare: at the caller's priority rather than not at all
  }
}

}  // namespace vdec::codecs
