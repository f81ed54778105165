// SPDX-License-Identifier: MIT
// Udmabuf: turns page-aligned ranges of memfd-backed guest RAM into a host dma-buf.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "buffers/guest_memory.h"
#include "buffers/guest_pages.h"
#include "vdec/base/result.h"
#include "vdec/base/unique_fd.h"

namespace vdec::buffers {

// A range of a memfd; the fd is borrowed for the call.
struct UdmabufRange {
  int memfd = -1;
  uint64_t offset = 0;
  uint64_t size = 0;
};

// /dev/udmabuf (UDMABUF_CREATE_LIST), as QEMU's virtio-gpu uses it for guest RAM. The kernel
// accepts only memfds sealed against shrinking (F_SEAL_SHRINK) and not sealed against writes,
// and only page-aligned offsets and sizes; QEMU's memory-backend-memfd is such a memfd.
// Stateless and thread-safe.
class Udmabuf {
 public:
  static constexpr const char* kDevicePath = "/dev/udmabuf";
  // The kernel's default list_limit module parameter.
  static constexpr size_t kMaxRanges = 1024;

  Udmabuf() = delete;

  // Whether /dev/udmabuf opens. unavailableReason() says why not ("" when it does).
  static bool isAvailable();
  static std::string unavailableReason();

  // Checks what the kernel would refuse, with a precise reason: no ranges, too many, a size or
  // offset not page-aligned, a range past the end of its fd, an fd that is not a memfd sealed
  // with F_SEAL_SHRINK, or one sealed with F_SEAL_WRITE.
  static Status checkRanges(std::span<const UdmabufRange> ranges);

  // Creates one dma-buf spanning the ranges in order. Runs checkRanges() first, so a bad range
  // is reported as such even where /dev/udmabuf is missing. The memfds stay owned by the
  // caller; the dma-buf keeps their pages alive.
  static Result<UniqueFd> create(std::span<const UdmabufRange> ranges);

  // The memfd ranges behind guest-physical ranges (adjacent ones merged). Fails if a range is
  // outside guest memory.
  static Result<std::vector<UdmabufRange>> rangesFor(const GuestMemory& memory,
                                                     const std::vector<GuestRange>& ranges);
};

}  // namespace vdec::buffers
