// SPDX-License-Identifier: MIT
// GuestPages: a resource backed by a list of guest-physical ranges (virtio GUEST_PAGES).
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "buffers/guest_memory.h"
#include "buffers/resource_memory.h"

namespace vdec::buffers {

struct GuestRange {
  GuestAddress address;
  uint64_t length = 0;
};

// Holds a shared_ptr to the GuestMemory it points into, so its spans stay valid for its life.
// The guest can still rewrite the pages at any time: readers copy, never parse in place.
//
// contiguous(): ranges that are adjacent in the host mapping are used as they are. Scattered
// ranges get a contiguous host window, built once on the first call: address space of the whole
// size is reserved (PROT_NONE), then each range's pages of the guest memory fd are mapped over
// it (MAP_FIXED | MAP_SHARED), so writes through the window land in the guest's own pages. That
// needs every range to start on a page boundary and every range but the last to be a whole
// number of pages; otherwise there is no window and the resource is written range by range.
// The window is owned by the resource and unmapped with it. contiguous() may be called from any
// thread (the window is built once, under a lock). Its mappings (one per run of ranges that are
// not adjacent in the guest memory fd) are charged to MapBudget first: over the per-resource or
// the daemon budget there is no window (logged, rate-limited), never an exception.
//
// Guest memory that is not sealed against shrinking (GuestMemory::sealed()) could fault:
// read()/write() are then SIGBUS-guarded and contiguous() is always empty.
class GuestPages final : public ResourceMemory {
 public:
  // Validates every range against memory (each inside one region, non-zero, no wrap) and the
  // total against maxTotal. Entries are used in order as one linear buffer.
  static Result<std::unique_ptr<GuestPages>> create(std::shared_ptr<const GuestMemory> memory,
                                                    const std::vector<GuestRange>& ranges,
                                                    uint64_t maxTotal);

  ~GuestPages() override;
  GuestPages(const GuestPages&) = delete;
  GuestPages& operator=(const GuestPages&) = delete;

  uint64_t size() const override { return size_; }
  Status write(uint64_t offset, std::span<const std::byte> data) override;
  Status read(uint64_t offset, std::span<std::byte> out) const override;
  std::span<std::byte> contiguous() override;
  bool sigbusSafe() const override { return memory_->sealed(); }
  const char* kind() const override;

  const std::vector<std::span<std::byte>>& segments() const { return segments_; }
  // True once contiguous() mapped a window over scattered ranges.
  bool hasWindow() const;

 private:
  GuestPages() = default;
  // Index of the segment holding offset (offset < size_).
  size_t segmentAt(uint64_t offset) const;
  // The window over scattered ranges, or an invalid region when the ranges or the map budget do
  // not allow one. Sets charged_ to what it took from MapBudget.
  MappedRegion mapWindow();
  // How many mappings a window needs (runs of fd-adjacent ranges + the reservation), or 0 when
  // the ranges cannot form a window.
  uint64_t windowMappings(uint64_t page) const;

  std::shared_ptr<const GuestMemory> memory_;
  std::vector<std::span<std::byte>> segments_;
  std::vector<GuestRange> ranges_;
  std::vector<uint64_t> starts_;  // starts_[i] = offset of segments_[i]
  uint64_t size_ = 0;
  bool contiguous_ = false;
  mutable std::once_flag windowOnce_;
  MappedRegion window_;   // only for scattered ranges; see contiguous()
  uint64_t charged_ = 0;  // mappings taken from MapBudget for window_
};

}  // namespace vdec::buffers
