// SPDX-License-Identifier: MIT
// SIGBUS-safe access to memory that another process can take away (a truncated file mapping).
#pragma once

#include <cstddef>
#include <cstdint>

namespace vdec::buffers {

// A MAP_SHARED mapping of a file raises SIGBUS, not a read of zeros, when the page it touches is
// past the file's current end: a front-end that truncates a memfd (or a hugetlbfs/tmpfs file)
// it shared with us could kill the daemon at the next access. Sealed memfds (F_SEAL_SHRINK)
// cannot shrink; everything else is accessed only through these functions, which turn the fault
// into a `false` return (the access may have copied a prefix).
//
// How: a process-wide SIGBUS handler, installed on first use, siglongjmp()s back into the
// guarded call when the faulting thread is inside one (a thread-local flag); any other SIGBUS
// gets the previous disposition (by default: the process dies with a core, as before). Only
// SIGBUS is caught; an access outside any mapping (SIGSEGV) is still a bug that kills.
//
// Thread-safe; async-signal-safe they are not. Cost: a sigsetjmp without the signal mask (no
// system call) per call. Callers should copy whole rows/buffers per call, not bytes.

// Copies n bytes from src to dst (no overlap). False if either side faulted.
[[nodiscard]] bool guardedCopy(void* dst, const void* src, size_t n) noexcept;
// Atomic 16-bit load with acquire ordering (a virtqueue index). False if it faulted.
[[nodiscard]] bool guardedLoad16(const void* p, uint16_t* value) noexcept;
// Atomic 16-bit store with release ordering. False if it faulted.
[[nodiscard]] bool guardedStore16(void* p, uint16_t value) noexcept;

// Installs the handler now (done lazily otherwise). For main(), before threads start.
void installSigbusGuard();
// How many guarded accesses faulted since start (for tests and diagnostics).
uint64_t guardedFaults();

}  // namespace vdec::buffers
