// SPDX-License-Identifier: MIT
// GuestMemory: the guest RAM regions a front-end shared with us, mapped into this process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "vdec/base/mapped_region.h"
#include "vdec/base/result.h"
#include "vdec/base/unique_fd.h"

namespace vdec::buffers {

// A guest-physical address; a distinct type so it is never confused with a host pointer.
struct GuestAddress {
  uint64_t value = 0;
};

// One region as the front-end describes it (vhost-user memory region + its fd).
struct GuestMemoryRegionSpec {
  uint64_t guestPhysAddr = 0;
  uint64_t size = 0;
  uint64_t userAddr = 0;    // front-end virtual address (vring addresses are given in these)
  uint64_t mmapOffset = 0;  // offset of the region inside fd
  UniqueFd fd;
};

// Immutable once built; shared with every resource that points into it, so a new memory table
// never pulls pages out from under a resource still in use. Thread-safe (read-only).
class GuestMemory {
 public:
  struct Region {
    uint64_t guestPhysAddr;
    uint64_t size;
    uint64_t userAddr;
    uint64_t mmapOffset;
    UniqueFd fd;
    MappedRegion mapping;  // exactly [mmapOffset, mmapOffset + size) of fd
    // fd carries F_SEAL_SHRINK: no access can fault. Otherwise (an fd that cannot be sealed,
    // see buffers/fd_seals.h) every access goes through buffers/sigbus_guard.h.
    bool sealed = false;
  };

  // Maps every region. Fails on zero-sized, overlapping or wrapping regions, a failed mmap, an
  // fd shorter than its region, or a memfd that could be sealed against shrinking but is not.
  static Result<std::shared_ptr<GuestMemory>> create(std::vector<GuestMemoryRegionSpec> specs);

  // Host view of [gpa, gpa + length) if it lies entirely in one region. length 0 is an error.
  Result<std::span<std::byte>> translate(GuestAddress gpa, uint64_t length) const;
  // Same for a front-end virtual address (vring desc/avail/used addresses).
  Result<std::span<std::byte>> translateUser(uint64_t userAddr, uint64_t length) const;
  // The region containing [gpa, gpa + length), for fd-based remapping (scatter-gather windows).
  Result<const Region*> regionOf(GuestAddress gpa, uint64_t length) const;

  const std::vector<Region>& regions() const { return regions_; }
  // Every region is sealed against shrinking: plain CPU access (and mapping for a decoder)
  // cannot fault.
  [[nodiscard]] bool sealed() const { return sealed_; }

 private:
  GuestMemory() = default;
  std::vector<Region> regions_;
  bool sealed_ = true;
};

}  // namespace vdec::buffers
