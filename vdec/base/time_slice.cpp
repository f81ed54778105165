// SPDX-License-Identifier: MIT
#include "vdec/base/time_slice.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace vdec {
namespace {

// struct sched_attr of sched_setattr(2) (glibc 2.36 has no wrapper).
struct SchedAttr {
  uint32_t size;
  uint32_t schedPolicy;
  uint64_t schedFlags;
  int32_t schedNice;
  uint32_t schedPriority;
  uint64_t schedRuntime;
  uint64_t schedDeadline;
  uint64_t schedPeriod;
};

}  // namespace

bool requestTimeSlice(std::chrono::nanoseconds slice) {
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, tid);
  if (nice == -1 && errno != 0) return false;
  SchedAttr attr{};
  attr.size = sizeof(attr);
  attr.schedPolicy = SCHED_OTHER;
  attr.schedNice = nice;
  attr.schedRuntime = static_cast<uint64_t>(slice.count() > 0 ? slice.count() : 0);
  return syscall(SYS_sched_setattr, 0, &attr, 0) == 0;
}

}  // namespace vdec
