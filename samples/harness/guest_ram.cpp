// SPDX-License-Identifier: MIT
// GuestRam: memfd guest RAM (sealed like QEMU's memory-backend-memfd) and its page allocator.
#include "samples/harness/guest_ram.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "vdec/base/wire.h"

namespace vdec::harness {
namespace {

constexpr uint64_t kPageSize = 4096;

uint64_t pagesFor(uint64_t bytes) { return (bytes + kPageSize - 1) / kPageSize; }

}  // namespace

Result<GuestRam> GuestRam::create(uint64_t size, uint64_t base) {
  if (size == 0 || base % kPageSize != 0) {
    return makeError(ErrorCode::kInvalidParameter, "guest RAM of {} bytes at {:#x}", size, base);
  }
  size = alignUp(size, kPageSize);
  UniqueFd fd(::memfd_create("vdec-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.isValid()) {
    return makeError(ErrorCode::kBackendFailure, "memfd_create: {}", std::strerror(errno));
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    return makeError(ErrorCode::kOutOfMemory, "ftruncate guest RAM to {} bytes: {}", size,
                     std::strerror(errno));
  }
  // QEMU's memory-backend-memfd (seal=on, the default) seals size changes and further sealing;
  // udmabuf on the device side relies on F_SEAL_SHRINK.
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    return makeError(ErrorCode::kBackendFailure, "sealing guest RAM memfd: {}",
                     std::strerror(errno));
  }
  VDEC_ASSIGN_OR_RETURN(auto mapping, MappedRegion::map(fd.get(), size, 0));
  GuestRam ram;
  ram.fd_ = std::move(fd);
  ram.mapping_ = std::move(mapping);
  ram.base_ = base;
  ram.used_.assign(size / kPageSize, false);
  return ram;
}

Result<buffers::GuestRange> GuestRam::allocContiguous(uint64_t bytes, uint64_t align) {
  if (bytes == 0 || align < kPageSize || (align & (align - 1)) != 0) {
    return makeError(ErrorCode::kInvalidParameter, "allocContiguous({}, align {})", bytes, align);
  }
  const uint64_t count = pagesFor(bytes);
  const uint64_t total = used_.size();
  uint64_t page = 0;
  while (page + count <= total) {
    const uint64_t gpa = base_ + page * kPageSize;
    if (gpa % align != 0) {
      page = (alignUp(gpa, align) - base_) / kPageSize;
      continue;
    }
    uint64_t firstUsed = count;
    for (uint64_t i = 0; i < count; ++i) {
      if (used_[page + i]) {
        firstUsed = i;
        break;
      }
    }
    if (firstUsed == count) {
      for (uint64_t i = 0; i < count; ++i) used_[page + i] = true;
      return buffers::GuestRange{buffers::GuestAddress{gpa}, count * kPageSize};
    }
    page += firstUsed + 1;
  }
  return makeError(ErrorCode::kOutOfMemory, "guest RAM: no {} contiguous pages aligned to {}",
                   count, align);
}

Result<std::vector<buffers::GuestRange>> GuestRam::allocScattered(uint64_t bytes) {
  if (bytes == 0) return makeError(ErrorCode::kInvalidParameter, "allocScattered(0)");
  const uint64_t total = used_.size();
  uint64_t remaining = pagesFor(bytes);
  // Runs are found walking forward from scatterCursor_ with at least one page skipped between
  // runs, then listed from alternating ends of that walk, so that neither consecutive entries
  // nor any pair of runs touch: the device must gather, as with vb2-dma-sg.
  std::vector<std::pair<uint64_t, uint64_t>> runs;  // {first page, pages}
  std::unordered_set<uint64_t> starts;
  std::unordered_set<uint64_t> ends;
  auto touches = [&](uint64_t first, uint64_t count) {
    return ends.count(first) != 0 || starts.count(first + count) != 0;
  };
  auto undo = [&] {
    for (const auto& [first, count] : runs) {
      for (uint64_t i = 0; i < count; ++i) used_[first + i] = false;
    }
  };
  uint64_t cursor = scatterCursor_ % std::max<uint64_t>(total, 1);
  uint64_t scanned = 0;
  uint64_t runIndex = 0;
  while (remaining > 0) {
    if (scanned > 2 * total + 8) {
      undo();
      return makeError(ErrorCode::kOutOfMemory,
                       "guest RAM: {} more pages unavailable for a "
                       "scattered buffer of {} bytes",
                       remaining, bytes);
    }
    // Lengths cycle 3, 1, 4, 2 pages (vb2-dma-sg merges neighbouring pages into short runs).
    static constexpr uint64_t kLengths[] = {3, 1, 4, 2};
    uint64_t want = std::min(remaining, kLengths[runIndex % 4]);
    if (cursor >= total) cursor = 0;
    // Longest free run of at most `want` pages starting at cursor.
    uint64_t count = 0;
    while (count < want && cursor + count < total && !used_[cursor + count]) ++count;
    if (count == 0 || touches(cursor, count)) {
      ++cursor;
      ++scanned;
      continue;
    }
    for (uint64_t i = 0; i < count; ++i) used_[cursor + i] = true;
    runs.emplace_back(cursor, count);
    starts.insert(cursor);
    ends.insert(cursor + count);
    remaining -= count;
    scanned += count + 2;
    ++runIndex;
    cursor += count + 1 + (runIndex % 2);  // leave a gap of one or two pages
  }
  scatterCursor_ = cursor;

  std::vector<buffers::GuestRange> out;
  out.reserve(runs.size());
  size_t lo = 0;
  size_t hi = runs.size();
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& [first, count] = (i % 2 == 0) ? runs[--hi] : runs[lo++];
    out.push_back({buffers::GuestAddress{base_ + first * kPageSize}, count * kPageSize});
  }
  return out;
}

void GuestRam::free(const buffers::GuestRange& range) {
  VDEC_CHECK(range.address.value >= base_ && range.address.value % kPageSize == 0);
  const uint64_t first = (range.address.value - base_) / kPageSize;
  const uint64_t count = pagesFor(range.length);
  VDEC_CHECK(first + count <= used_.size());
  for (uint64_t i = 0; i < count; ++i) used_[first + i] = false;
}

std::span<std::byte> GuestRam::at(uint64_t gpa, uint64_t length) {
  VDEC_CHECK(gpa >= base_ && gpa - base_ <= size() && length <= size() - (gpa - base_));
  return mapping_.bytes().subspan(gpa - base_, length);
}

void GuestRam::write(const std::vector<buffers::GuestRange>& ranges, uint64_t offset,
                     std::span<const std::byte> data) {
  for (const auto& range : ranges) {
    if (data.empty()) return;
    if (offset >= range.length) {
      offset -= range.length;
      continue;
    }
    const uint64_t n = std::min<uint64_t>(range.length - offset, data.size());
    std::memcpy(at(range.address.value + offset, n).data(), data.data(), n);
    data = data.subspan(n);
    offset = 0;
  }
  VDEC_CHECK(data.empty());
}

void GuestRam::read(const std::vector<buffers::GuestRange>& ranges, uint64_t offset,
                    std::span<std::byte> out) {
  for (const auto& range : ranges) {
    if (out.empty()) return;
    if (offset >= range.length) {
      offset -= range.length;
      continue;
    }
    const uint64_t n = std::min<uint64_t>(range.length - offset, out.size());
    std::memcpy(out.data(), at(range.address.value + offset, n).data(), n);
    out = out.subspan(n);
    offset = 0;
  }
  VDEC_CHECK(out.empty());
}

}  // namespace vdec::harness
