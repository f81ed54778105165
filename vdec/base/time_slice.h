// SPDX-License-Identifier: MIT
// The calling thread's scheduler time slice (Linux EEVDF, 6.12 and later).
#pragma once

#include <chrono>

namespace vdec {

// Asks the kernel for a time slice of `slice` for the calling thread (sched_setattr with
// SCHED_OTHER and sched_runtime; 0 = the kernel's default), keeping its nice value. An
// unprivileged thread may do this. A thread with a shorter slice than the one running gets the
// CPU as soon as it wakes (EEVDF's PREEMPT_SHORT) instead of after the running thread's slice
// (about 3 ms): what a thread that mostly sleeps and must answer fast wants. Threads created
// afterwards inherit it. Returns false where the kernel refused or does not know the call;
// older kernels accept and ignore it.
bool requestTimeSlice(std::chrono::nanoseconds slice);

}  // namespace vdec
