// SPDX-License-Identifier: MIT
#include "samples/bench/scheduler_floor.h"

#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "samples/bench/latency_probe.h"
#include "vdec/base/unique_fd.h"

namespace vdec::bench {
namespace {

// Blocking eventfd reads and writes; false once the other side is gone (never here).
bool signal(int fd) {
  const uint64_t one = 1;
  return write(fd, &one, sizeof one) == static_cast<ssize_t>(sizeof one);
}
bool await(int fd) {
  uint64_t value = 0;
  return read(fd, &value, sizeof value) == static_cast<ssize_t>(sizeof value);
}

}  // namespace

LatencyResult measureSchedulerFloor(int samples, std::chrono::microseconds pause) {
  const UniqueFd request(eventfd(0, EFD_CLOEXEC));
  const UniqueFd answer(eventfd(0, EFD_CLOEXEC));
  std::atomic<bool> stop{false};
  std::vector<std::thread> burners;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < cores; ++i) {
    burners.emplace_back([&stop] {
      const sched_param param{};
      (void)sched_setscheduler(0, SCHED_IDLE, &param);  // best effort: then it is nice 0 load
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  }
  // The echo thread stands for the device thread: woken by the request, it answers.
  std::thread echo([&] {
    while (await(request.get())) {
      if (stop.load() || !signal(answer.get())) return;
    }
  });
  std::vector<double> samplesUs;
  samplesUs.reserve(static_cast<size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    const auto start = std::chrono::steady_clock::now();
    if (!signal(request.get()) || !await(answer.get())) break;
    samplesUs.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
    std::this_thread::sleep_for(pause);
  }
  stop = true;
  (void)signal(request.get());  // wakes the echo thread, which sees stop
  echo.join();
  for (std::thread& burner : burners) burner.join();
  return summarizeLatency(std::string(kMachineFloor) + ": eventfd ping-pong, SCHED_IDLE load",
                          samplesUs);
}

}  // namespace vdec::bench
