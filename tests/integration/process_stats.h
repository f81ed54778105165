// SPDX-License-Identifier: MIT
// Reads a live process's open fds, threads, resident memory and mappings from /proc (leak checks).
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace vdec::testing {

struct ProcessStats {
  uint64_t openFds = 0;
  uint64_t threads = 0;
  uint64_t rssKiB = 0;
  uint64_t mappings = 0;  // lines of /proc/PID/maps
};

ProcessStats readProcessStats(pid_t pid);

}  // namespace vdec::testing
