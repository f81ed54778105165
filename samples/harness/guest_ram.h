// SPDX-License-Identifier: MIT
// GuestRam: the harness's guest RAM: one memfd shared with the device, plus a page allocator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "buffers/guest_pages.h"
#include "vdec/base/mapped_region.h"
#include "vdec/base/result.h"
#include "vdec/base/unique_fd.h"

namespace vdec::harness {

// A memfd of `size` bytes mapped at guest-physical `base` (non-zero on purpose, so that a
// device confusing offsets with addresses fails). Allocation is in 4 KiB pages.
// Threads: not thread-safe; the harness is single-threaded apart from the exporter channel.
class GuestRam {
 public:
  static Result<GuestRam> create(uint64_t size, uint64_t base = 0x40000000);

  uint64_t base() const { return base_; }
  uint64_t size() const { return mapping_.size(); }
  int fd() const { return fd_.get(); }
  // Front-end "user address" of the RAM (our own mapping's address), as QEMU reports it.
  uint64_t userAddr() const { return reinterpret_cast<uint64_t>(mapping_.data()); }

  // One run of pages, aligned to `align` (a power of two >= 4096).
  Result<buffers::GuestRange> allocContiguous(uint64_t bytes, uint64_t align = 4096);
  // Page runs of varying length (1..4 pages) deliberately not adjacent in guest-physical
  // order, in the shape vb2-dma-sg produces; together they hold at least `bytes`.
  Result<std::vector<buffers::GuestRange>> allocScattered(uint64_t bytes);
  void free(const buffers::GuestRange& range);

  // Host view of [gpa, gpa + length); the range must be inside the RAM.
  std::span<std::byte> at(uint64_t gpa, uint64_t length);
  // Gathers/scatters across a list of ranges, in order.
  void write(const std::vector<buffers::GuestRange>& ranges, uint64_t offset,
             std::span<const std::byte> data);
  void read(const std::vector<buffers::GuestRange>& ranges, uint64_t offset,
            std::span<std::byte> out);

 private:
  UniqueFd fd_;
  MappedRegion mapping_;
  uint64_t base_ = 0;
  std::vector<bool> used_;  // one flag per page
  uint64_t scatterCursor_ = 0;
};

}  // namespace vdec::harness
