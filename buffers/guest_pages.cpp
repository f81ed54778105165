// SPDX-License-Identifier: MIT
#include "buffers/guest_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "buffers/map_budget.h"
#include "buffers/sigbus_guard.h"
#include "vdec/base/log_limiter.h"
#include "vdec/base/logging.h"
#include "vdec/base/wire.h"

namespace vdec::buffers {

Result<std::unique_ptr<GuestPages>> GuestPages::create(std::shared_ptr<const GuestMemory> memory,
                                                       const std::vector<GuestRange>& ranges,
                                                       uint64_t maxTotal) {
  if (!memory) return makeError(ErrorCode::kInvalidOperation, "no guest memory table yet");
  if (ranges.empty()) return makeError(ErrorCode::kInvalidParameter, "resource has no entries");
  std::unique_ptr<GuestPages> pages(new GuestPages());
  uint64_t total = 0;
  for (const auto& range : ranges) {
    VDEC_ASSIGN_OR_RETURN(auto span, memory->translate(range.address, range.length));
    if (addOverflows(total, range.length, &total) || total > maxTotal) {
      return makeError(ErrorCode::kInvalidParameter, "resource larger than {} bytes", maxTotal);
    }
    pages->starts_.push_back(total - range.length);
    pages->segments_.push_back(span);
    pages->ranges_.push_back(range);
  }
  pages->size_ = total;
  pages->memory_ = std::move(memory);
  // Adjacent host spans form one contiguous mapping.
  pages->contiguous_ = true;
  for (size_t i = 1; i < pages->segments_.size(); ++i) {
    const auto& prev = pages->segments_[i - 1];
    if (prev.data() + prev.size() != pages->segments_[i].data()) pages->contiguous_ = false;
  }
  return pages;
}

GuestPages::~GuestPages() {
  window_.reset();
  if (charged_ != 0) MapBudget::instance().release(charged_);
}

size_t GuestPages::segmentAt(uint64_t offset) const {
  auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
  return static_cast<size_t>(it - starts_.begin()) - 1;
}

Status GuestPages::write(uint64_t offset, std::span<const std::byte> data) {
  uint64_t end = 0;
  if (addOverflows(offset, data.size(), &end) || end > size_) {
    return makeError(ErrorCode::kInvalidParameter, "write [{}, +{}) outside {} bytes", offset,
                     data.size(), size_);
  }
  if (data.empty()) return okStatus();
  size_t index = segmentAt(offset);
  while (!data.empty()) {
    auto segment = segments_[index];
    uint64_t within = offset - starts_[index];
    size_t n = std::min<uint64_t>(segment.size() - within, data.size());
    if (!guardedCopy(segment.data() + within, data.data(), n)) {
      return makeError(ErrorCode::kInvalidParameter, "guest memory faulted (truncated fd)");
    }
    data = data.subspan(n);
    offset += n;
    ++index;
  }
  return okStatus();
}

Status GuestPages::read(uint64_t offset, std::span<std::byte> out) const {
  uint64_t end = 0;
  if (addOverflows(offset, out.size(), &end) || end > size_) {
    return makeError(ErrorCode::kInvalidParameter, "read [{}, +{}) outside {} bytes", offset,
                     out.size(), size_);
  }
  if (out.empty()) return okStatus();
  size_t index = segmentAt(offset);
  while (!out.empty()) {
    auto segment = segments_[index];
    uint64_t within = offset - starts_[index];
    size_t n = std::min<uint64_t>(segment.size() - within, out.size());
    if (!guardedCopy(out.data(), segment.data() + within, n)) {
      return makeError(ErrorCode::kInvalidParameter, "guest memory faulted (truncated fd)");
    }
    out = out.subspan(n);
    offset += n;
    ++index;
  }
  return okStatus();
}

std::span<std::byte> GuestPages::contiguous() {
  if (!sigbusSafe()) return {};  // a raw mapping could fault in whoever uses it
  if (contiguous_) return {segments_.front().data(), size_};
  std::call_once(windowOnce_, [this] { window_ = mapWindow(); });
  if (!window_.isValid()) return {};
  return window_.bytes().first(size_);
}

bool GuestPages::hasWindow() const { return window_.isValid(); }

uint64_t GuestPages::windowMappings(uint64_t page) const {
  uint64_t runs = 0;
  const GuestMemory::Region* previousRegion = nullptr;
  uint64_t previousEnd = 0;  // fd offset just past the previous range
  for (size_t i = 0; i < ranges_.size(); ++i) {
    // Only whole pages can be remapped, and each range must start where the previous one ended.
    const bool last = i + 1 == ranges_.size();
    if (ranges_[i].address.value % page != 0 || (!last && ranges_[i].length % page != 0)) {
      return 0;
    }
    auto region = memory_->regionOf(ranges_[i].address, ranges_[i].length);
    if (!region) return 0;
    const uint64_t fdOffset =
        (*region)->mmapOffset + (ranges_[i].address.value - (*region)->guestPhysAddr);
    if (fdOffset % page != 0) return 0;
    if (*region != previousRegion || fdOffset != previousEnd) ++runs;
    previousRegion = *region;
    previousEnd = fdOffset + ranges_[i].length;
  }
  return runs + 1;  // + the reservation's remainder past the last page
}

MappedRegion GuestPages::mapWindow() {
  const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t mappings = windowMappings(page);
  if (mappings == 0) return {};
  MapBudget& budget = MapBudget::instance();
  if (mappings > MapBudget::kResourceWindowMappings || !budget.tryCharge(mappings)) {
    static LogLimiter limiter;
    if (auto count = limiter.admit("map budget")) {
      logs::buffers().warn(
          "scatter-gather window of {} mappings refused (per resource {}, daemon {} of {} in "
          "use); resource written range by range ({} in the last second)",
          mappings, MapBudget::kResourceWindowMappings, budget.used(), budget.limit(), *count);
    }
    return {};
  }
  charged_ = mappings;
  auto refund = [this] {
    MapBudget::instance().release(charged_);
    charged_ = 0;
  };
  const uint64_t windowSize = alignUp(size_, page);
  void* base = ::mmap(nullptr, windowSize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) {
    refund();
    return {};
  }
  // From here the reservation is owned: a failure below unmaps all of it.
  MappedRegion window = MappedRegion::adopt(base, windowSize);
  for (size_t i = 0; i < ranges_.size(); ++i) {
    // Checked by windowMappings().
    const GuestMemory::Region* region = *memory_->regionOf(ranges_[i].address, ranges_[i].length);
    const uint64_t fdOffset =
        region->mmapOffset + (ranges_[i].address.value - region->guestPhysAddr);
    // The last range's partial page: the rest of that guest page is mapped too (never written:
    // writes are bounds-checked against size()).
    const uint64_t length = alignUp(ranges_[i].length, page);
    void* at = window.data() + starts_[i];
    // Populated: the window is built when the decoder first takes the buffer and is written
    // whole at once; filling the page tables here costs about half of taking a fault per run of
    // pages in the decoder (3 MB in runs of 3 pages: 1.2 ms of faults against 0.6 ms more here).
    void* mapped = ::mmap(at, length, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_FIXED | MAP_POPULATE, region->fd.get(),
                          static_cast<off_t>(fdOffset));
    if (mapped == MAP_FAILED) {  // ENOMEM: the process is at vm.max_map_count after all
      window.reset();
      refund();
      return {};
    }
  }
  return window;
}

const char* GuestPages::kind() const {
  return contiguous_ ? "guest pages (contiguous)" : "guest pages (scatter-gather)";
}

}  // namespace vdec::buffers
