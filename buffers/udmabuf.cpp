// SPDX-License-Identifier: MIT
#include "buffers/udmabuf.h"

#include <fcntl.h>
#include <linux/udmabuf.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "vdec/base/logging.h"

namespace vdec::buffers {
namespace {

uint64_t pageSize() {
  const long size = ::sysconf(_SC_PAGESIZE);
  return size > 0 ? static_cast<uint64_t>(size) : 4096;
}

Result<UniqueFd> openDevice() {
  UniqueFd fd(::open(Udmabuf::kDevicePath, O_RDWR | O_CLOEXEC));
  if (!fd.isValid()) {
    if (errno == ENOENT) {
      return makeError(ErrorCode::kUnsupported, "{} does not exist", Udmabuf::kDevicePath);
    }
    return makeError(ErrorCode::kUnsupported, "cannot open {}: {}", Udmabuf::kDevicePath,
                     std::strerror(errno));
  }
  return fd;
}

Status checkMemfd(int fd, uint64_t end) {
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0) {
    return makeError(ErrorCode::kUnsupported,
                     "fd {} is not a memfd ({}); udmabuf needs memfd guest RAM "
                     "(memory-backend-memfd)",
                     fd, std::strerror(errno));
  }
  if ((seals & F_SEAL_SHRINK) == 0) {
    return makeError(ErrorCode::kUnsupported, "memfd {} is not sealed with F_SEAL_SHRINK", fd);
  }
  if ((seals & F_SEAL_WRITE) != 0) {
    return makeError(ErrorCode::kUnsupported, "memfd {} is sealed with F_SEAL_WRITE", fd);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return makeError(ErrorCode::kBackendFailure, "fstat(memfd {}) failed: {}", fd,
                     std::strerror(errno));
  }
  if (end > static_cast<uint64_t>(st.st_size)) {
    return makeError(ErrorCode::kInvalidParameter, "range end {} beyond memfd {} of {} bytes", end,
                     fd, st.st_size);
  }
  return okStatus();
}

}  // namespace

bool Udmabuf::isAvailable() { return openDevice().has_value(); }

std::string Udmabuf::unavailableReason() {
  auto fd = openDevice();
  return fd ? std::string() : fd.error().message;
}

Status Udmabuf::checkRanges(std::span<const UdmabufRange> ranges) {
  if (ranges.empty()) return makeError(ErrorCode::kInvalidParameter, "no ranges for a udmabuf");
  if (ranges.size() > kMaxRanges) {
    return makeError(ErrorCode::kInvalidParameter, "{} ranges; udmabuf takes at most {}",
                     ranges.size(), kMaxRanges);
  }
  const uint64_t page = pageSize();
  for (size_t i = 0; i < ranges.size(); ++i) {
    const UdmabufRange& range = ranges[i];
    if (range.size == 0 || range.offset % page != 0 || range.size % page != 0) {
      return makeError(ErrorCode::kUnsupported,
                       "range {} (offset {:#x}, size {:#x}) is not page-aligned ({} bytes)", i,
                       range.offset, range.size, page);
    }
    if (range.offset + range.size < range.offset) {
      return makeError(ErrorCode::kInvalidParameter, "range {} wraps around", i);
    }
    VDEC_TRY(checkMemfd(range.memfd, range.offset + range.size));
  }
  return okStatus();
}

Result<UniqueFd> Udmabuf::create(std::span<const UdmabufRange> ranges) {
  VDEC_TRY(checkRanges(ranges));
  VDEC_ASSIGN_OR_RETURN(UniqueFd device, openDevice());
  const size_t bytes = sizeof(udmabuf_create_list) + ranges.size() * sizeof(udmabuf_create_item);
  // udmabuf_create_list ends in a flexible array: allocate it as raw, suitably aligned storage.
  std::unique_ptr<uint64_t[]> storage(new uint64_t[(bytes + 7) / 8]());
  auto* list = reinterpret_cast<udmabuf_create_list*>(storage.get());
  list->flags = UDMABUF_FLAGS_CLOEXEC;
  list->count = static_cast<uint32_t>(ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) {
    list->list[i].memfd = static_cast<uint32_t>(ranges[i].memfd);
    list->list[i].offset = ranges[i].offset;
    list->list[i].size = ranges[i].size;
  }
  const int fd = ::ioctl(device.get(), UDMABUF_CREATE_LIST, list);
  if (fd < 0) {
    return makeError(ErrorCode::kBackendFailure, "ioctl(UDMABUF_CREATE_LIST, {} ranges) failed: {}",
                     ranges.size(), std::strerror(errno));
  }
  return UniqueFd(fd);
}

Result<std::vector<UdmabufRange>> Udmabuf::rangesFor(const GuestMemory& memory,
                                                     const std::vector<GuestRange>& ranges) {
  std::vector<UdmabufRange> result;
  for (const GuestRange& range : ranges) {
    VDEC_ASSIGN_OR_RETURN(const GuestMemory::Region* region,
                          memory.regionOf(range.address, range.length));
    const uint64_t offset = region->mmapOffset + (range.address.value - region->guestPhysAddr);
    UdmabufRange next{region->fd.get(), offset, range.length};
    if (!result.empty() && result.back().memfd == next.memfd &&
        result.back().offset + result.back().size == next.offset) {
      result.back().size += next.size;
    } else {
      result.push_back(next);
    }
  }
  return result;
}

}  // namespace vdec::buffers
