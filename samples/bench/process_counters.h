// SPDX-License-Identifier: MIT
// ProcessCounters: what a process spent so far: CPU, minor page faults, context switches.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "vdec/base/result.h"

namespace vdec::bench {

struct ProcessCounters {
  double cpuSeconds = 0;         // user + system, all threads, exited ones included
  uint64_t minorFaults = 0;      // all threads, exited ones included
  uint64_t contextSwitches = 0;  // voluntary + involuntary; see readProcessCounters
};

// Another process, from /proc/<pid>/stat (CPU at clock-tick resolution, minor faults) and
// /proc/<pid>/task/*/status (context switches of the threads alive now: read it while the
// threads that matter still run, e.g. before a stream is destroyed).
Result<ProcessCounters> readProcessCounters(pid_t pid);

// This process (getrusage(RUSAGE_SELF): every thread, exited ones included).
ProcessCounters selfCounters();

ProcessCounters operator-(const ProcessCounters& after, const ProcessCounters& before);

}  // namespace vdec::bench
