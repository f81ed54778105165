// SPDX-License-Identifier: MIT
#include "buffers/guest_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

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
    std::memcpy(segment.data() + within, data.data(), n);
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
    std::memcpy(out.data(), segment.data() + within, n);
    out = out.subspan(n);
    offset += n;
    ++index;
  }
  return okStatus();
}

std::span<std::byte> GuestPages::contiguous() {
  if (contiguous_) return {segments_.front().data(), size_};
  std::call_once(windowOnce_, [this] { window_ = mapWindow(); });
  if (!window_.isValid()) return {};
  return window_.bytes().first(size_);
}

bool GuestPages::hasWindow() const { return window_.isValid(); }

MappedRegion GuestPages::mapWindow() const {
  const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  // Only whole pages can be remapped, and each range must start where the previous one ended.
  for (size_t i = 0; i < ranges_.size(); ++i) {
    const bool last = i + 1 == ranges_.size();
    if (ranges_[i].address.value % page != 0 || (!last && ranges_[i].length % page != 0)) {
      return {};
    }
  }
  const uint64_t windowSize = alignUp(size_, page);
  void* base = ::mmap(nullptr, windowSize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return {};
  // From here the reservation is owned: a failure below unmaps all of it.
  MappedRegion window = MappedRegion::adopt(base, windowSize);
  for (size_t i = 0; i < ranges_.size(); ++i) {
    auto region = memory_->regionOf(ranges_[i].address, ranges_[i].length);
    if (!region) return {};
    const uint64_t fdOffset =
        (*region)->mmapOffset + (ranges_[i].address.value - (*region)->guestPhysAddr);
    if (fdOffset % page != 0) return {};
    // The last range's partial page: the rest of that guest page is mapped too (never written:
    // writes are bounds-checked against size()).
    const uint64_t length = alignUp(ranges_[i].length, page);
    void* at = window.data() + starts_[i];
    void* mapped = ::mmap(at, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                          (*region)->fd.get(), static_cast<off_t>(fdOffset));
    if (mapped == MAP_FAILED) return {};
  }
  return window;
}

const char* GuestPages::kind() const {
  return contiguous_ ? "guest pages (contiguous)" : "guest pages (scatter-gather)";
}

}  // namespace vdec::buffers
