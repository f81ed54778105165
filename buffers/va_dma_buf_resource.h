// SPDX-License-Identifier: MIT
// DmaBufResource: a ResourceMemory that also offers its dma-buf (the VA-API import hook).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "buffers/guest_memory.h"
#include "buffers/guest_pages.h"
#include "buffers/resource_memory.h"
#include "buffers/va_dma_buf_source.h"
#include "vdec/base/unique_fd.h"

namespace vdec::buffers {

// Wraps the memory the device made for a resource (GuestPages, MappedFdMemory) and forwards
// every access to it; adds DmaBufSource so a VA-API session can import the same bytes as a
// surface. This is where the device hands dma-bufs to the decoder without either buffer type
// exposing its fds. Same threading rules as the wrapped memory.
class DmaBufResource final : public ResourceMemory, public DmaBufSource {
 public:
  // A virtio object: `dmaBuf` is a second fd of the buffer `memory` maps (UniqueFd::duplicate()
  // of the SHARED_OBJECT_LOOKUP fd); the resource starts at `offset` in it.
  static std::unique_ptr<DmaBufResource> forObject(std::unique_ptr<ResourceMemory> memory,
                                                   UniqueFd dmaBuf, uint64_t offset);
  // Guest pages: a udmabuf of `ranges` is made on the first dmaBuf() call; it fails (and keeps
  // failing) with the reason when /dev/udmabuf is missing, guest RAM is not a sealed memfd, or
  // the ranges are not page-aligned.
  static std::unique_ptr<DmaBufResource> forGuestPages(std::unique_ptr<ResourceMemory> memory,
                                                       std::shared_ptr<const GuestMemory> guest,
                                                       std::vector<GuestRange> ranges);

  uint64_t size() const override { return memory_->size(); }
  Status write(uint64_t offset, std::span<const std::byte> data) override {
    return memory_->write(offset, data);
  }
  Status read(uint64_t offset, std::span<std::byte> out) const override {
    return memory_->read(offset, out);
  }
  std::span<std::byte> contiguous() override { return memory_->contiguous(); }
  bool sigbusSafe() const override { return memory_->sigbusSafe(); }
  const char* kind() const override { return memory_->kind(); }
  void beginCpuAccess() override { memory_->beginCpuAccess(); }
  void endCpuAccess() override { memory_->endCpuAccess(); }

  Result<DmaBufInfo> dmaBuf() override;

  ResourceMemory& wrapped() { return *memory_; }

 private:
  explicit DmaBufResource(std::unique_ptr<ResourceMemory> memory) : memory_(std::move(memory)) {}

  std::unique_ptr<ResourceMemory> memory_;
  std::shared_ptr<const GuestMemory> guest_;  // guest pages only
  std::vector<GuestRange> ranges_;
  UniqueFd fd_;
  uint64_t offset_ = 0;
  std::optional<Error> failure_;  // a udmabuf that could not be made is not retried
};

}  // namespace vdec::buffers
