// SPDX-License-Identifier: MIT
// The machine's floor for a command round trip: what any thread of this host waits to be woken
// while the CPUs are busy with the lowest-priority work Linux has, without the daemon.
#pragma once

#include <chrono>

#include "samples/bench/bench_report.h"

namespace vdec::bench {

// Two threads of this process ping-pong through eventfds (as a kick and a call do) `samples`
// times, `pause` apart, while one SCHED_IDLE busy thread per core runs. SCHED_IDLE threads
// yield to any normal thread that wakes up, so what is left of a round trip above the idle
// one is the kernel's and the hypervisor's, not a priority the daemon could change. Runs on
// the caller's thread and joins every thread it starts before returning.
LatencyResult measureSchedulerFloor(int samples, std::chrono::microseconds pause);

}  // namespace vdec::bench
