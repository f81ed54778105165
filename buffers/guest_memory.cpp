// SPDX-License-Identifier: MIT
#include "buffers/guest_memory.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <string>

#include "buffers/fd_seals.h"
#include "vdec/base/log_limiter.h"
#include "vdec/base/logging.h"
#include "vdec/base/wire.h"

namespace vdec::buffers {

Result<std::shared_ptr<GuestMemory>> GuestMemory::create(std::vector<GuestMemoryRegionSpec> specs) {
  std::shared_ptr<GuestMemory> memory(new GuestMemory());
  for (auto& spec : specs) {
    uint64_t end = 0;
    if (spec.size == 0 || addOverflows(spec.guestPhysAddr, spec.size, &end) ||
        addOverflows(spec.userAddr, spec.size, &end) ||
        addOverflows(spec.mmapOffset, spec.size, &end)) {
      return makeError(ErrorCode::kInvalidParameter, "bad memory region gpa {:#x} size {:#x}",
                       spec.guestPhysAddr, spec.size);
    }
    for (const auto& other : memory->regions_) {
      bool disjoint = spec.guestPhysAddr + spec.size <= other.guestPhysAddr ||
                      other.guestPhysAddr + other.size <= spec.guestPhysAddr;
      if (!disjoint) {
        return makeError(ErrorCode::kInvalidParameter, "memory region gpa {:#x} overlaps {:#x}",
                         spec.guestPhysAddr, other.guestPhysAddr);
      }
    }
    if (!spec.fd.isValid()) {
      return makeError(ErrorCode::kInvalidParameter, "memory region gpa {:#x} has no fd",
                       spec.guestPhysAddr);
    }
    // A mapping past the end of a file maps fine but faults (SIGBUS) on first touch: refuse
    // regions that the fd cannot back, and memfds that could shrink later (fd_seals.h).
    struct stat st {};
    if (::fstat(spec.fd.get(), &st) != 0) {
      return makeError(ErrorCode::kInvalidParameter, "memory region gpa {:#x}: fstat: {}",
                       spec.guestPhysAddr, std::strerror(errno));
    }
    if (S_ISREG(st.st_mode) && end > static_cast<uint64_t>(st.st_size)) {
      return makeError(ErrorCode::kInvalidParameter,
                       "memory region gpa {:#x} ends at fd offset {:#x}, past its fd ({} bytes)",
                       spec.guestPhysAddr, end, st.st_size);
    }
    const std::string what = fmt::format("memory region gpa {:#x}", spec.guestPhysAddr);
    VDEC_ASSIGN_OR_RETURN(const bool sealed, checkShrinkSeal(spec.fd.get(), what.c_str()));
    static LogLimiter unsealedLog;
    if (!sealed && unsealedLog.admit("unsealable guest memory")) {
      logs::buffers().warn(
          "{}: fd cannot be sealed against shrinking; guest memory is accessed through SIGBUS "
          "guards and not decoded into directly (use memory-backend-memfd for zero-copy)",
          what);
    }
    // mmap offsets must be page aligned: map from the aligned-down offset and keep the slack.
    const uint64_t pageMask = 4095;
    uint64_t slack = spec.mmapOffset & pageMask;
    VDEC_ASSIGN_OR_RETURN(auto mapping,
                          MappedRegion::map(spec.fd.get(), spec.size + slack,
                                            static_cast<off_t>(spec.mmapOffset - slack)));
    Region region{spec.guestPhysAddr, spec.size, spec.userAddr, spec.mmapOffset,
                  std::move(spec.fd), std::move(mapping), sealed};
    if (slack != 0) {
      // Keep the whole mapping owned; translate() adds the slack.
      region.mmapOffset = spec.mmapOffset;
    }
    memory->sealed_ = memory->sealed_ && sealed;
    memory->regions_.push_back(std::move(region));
  }
  return memory;
}

namespace {

std::span<std::byte> regionBytes(const GuestMemory::Region& region) {
  uint64_t slack = region.mmapOffset & 4095;
  return region.mapping.bytes().subspan(slack, region.size);
}

}  // namespace

Result<const GuestMemory::Region*> GuestMemory::regionOf(GuestAddress gpa, uint64_t length) const {
  uint64_t end = 0;
  if (length == 0 || addOverflows(gpa.value, length, &end)) {
    return makeError(ErrorCode::kInvalidParameter, "bad guest range {:#x} +{:#x}", gpa.value,
                     length);
  }
  for (const auto& region : regions_) {
    if (gpa.value >= region.guestPhysAddr && end <= region.guestPhysAddr + region.size) {
      return &region;
    }
  }
  return makeError(ErrorCode::kInvalidParameter, "guest range {:#x} +{:#x} outside guest RAM",
                   gpa.value, length);
}

Result<std::span<std::byte>> GuestMemory::translate(GuestAddress gpa, uint64_t length) const {
  VDEC_ASSIGN_OR_RETURN(const Region* region, regionOf(gpa, length));
  return regionBytes(*region).subspan(gpa.value - region->guestPhysAddr, length);
}

Result<std::span<std::byte>> GuestMemory::translateUser(uint64_t userAddr, uint64_t length) const {
  uint64_t end = 0;
  if (length == 0 || addOverflows(userAddr, length, &end)) {
    return makeError(ErrorCode::kInvalidParameter, "bad user range {:#x} +{:#x}", userAddr,
                     length);
  }
  for (const auto& region : regions_) {
    if (userAddr >= region.userAddr && end <= region.userAddr + region.size) {
      return regionBytes(region).subspan(userAddr - region.userAddr, length);
    }
  }
  return makeError(ErrorCode::kInvalidParameter, "user range {:#x} +{:#x} not in any region",
                   userAddr, length);
}

}  // namespace vdec::buffers
