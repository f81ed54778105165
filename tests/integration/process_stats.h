// SPDX-License-Identifier: MIT
// Reads a live process's open fds, threads, resident memory and mappings from /proc (leak checks).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace vdec::testing {

struct ProcessStats {
  uint64_t openFds = 0;
  uint64_t threads = 0;
  uint64_t rssKiB = 0;
  uint64_t mappings = 0;  // lines of /proc/PID/maps
};

ProcessStats readProcessStats(pid_t pid);

// How one thread is scheduled, from /proc/PID/task/TID/stat (fields 19 and 41).
struct ThreadScheduling {
  pid_t tid = 0;
  int nice = 0;
  int policy = 0;  // SCHED_OTHER, SCHED_IDLE, ...
};

// Every thread of a live process; empty if it is gone.
std::vector<ThreadScheduling> readThreadScheduling(pid_t pid);

}  // namespace vdec::testing
