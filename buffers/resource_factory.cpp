// SPDX-License-Identifier: MIT
#include "buffers/resource_factory.h"

#include "buffers/mapped_fd_memory.h"
#include "buffers/va_dma_buf_resource.h"

namespace vdec::buffers {

Result<std::unique_ptr<ResourceMemory>> makeGuestPagesResource(
    std::shared_ptr<const GuestMemory> guest, std::vector<GuestRange> ranges, uint64_t maxBytes) {
  VDEC_ASSIGN_OR_RETURN(auto pages, GuestPages::create(guest, ranges, maxBytes));
  // The wrapper lets a VA-API session import the pages as a udmabuf; transparent otherwise.
  return std::unique_ptr<ResourceMemory>(
      DmaBufResource::forGuestPages(std::move(pages), std::move(guest), std::move(ranges)));
}

Result<std::unique_ptr<ResourceMemory>> makeObjectResource(UniqueFd fd, uint64_t offset,
                                                           uint64_t maxBytes) {
  UniqueFd importFd = fd.duplicate();  // for a VA-API import of the same buffer
  VDEC_ASSIGN_OR_RETURN(auto mapped, MappedFdMemory::create(std::move(fd), offset, maxBytes));
  return std::unique_ptr<ResourceMemory>(
      DmaBufResource::forObject(std::move(mapped), std::move(importFd), offset));
}

}  // namespace vdec::buffers
