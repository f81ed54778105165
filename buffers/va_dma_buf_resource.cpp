// SPDX-License-Identifier: MIT
#include "buffers/va_dma_buf_resource.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "buffers/udmabuf.h"

namespace vdec::buffers {

std::unique_ptr<DmaBufResource> DmaBufResource::forObject(std::unique_ptr<ResourceMemory> memory,
                                                          UniqueFd dmaBuf, uint64_t offset) {
  std::unique_ptr<DmaBufResource> resource(new DmaBufResource(std::move(memory)));
  resource->fd_ = std::move(dmaBuf);
  resource->offset_ = offset;
  if (!resource->fd_.isValid()) {
    resource->failure_ = Error{ErrorCode::kInvalidParameter, "the object has no dma-buf fd"};
  }
  return resource;
}

std::unique_ptr<DmaBufResource> DmaBufResource::forGuestPages(
    std::unique_ptr<ResourceMemory> memory, std::shared_ptr<const GuestMemory> guest,
    std::vector<GuestRange> ranges) {
  std::unique_ptr<DmaBufResource> resource(new DmaBufResource(std::move(memory)));
  resource->guest_ = std::move(guest);
  resource->ranges_ = std::move(ranges);
  return resource;
}

Result<DmaBufInfo> DmaBufResource::dmaBuf() {
  if (failure_) return makeError(*failure_);
  if (!fd_.isValid()) {
    Result<UniqueFd> created = [&]() -> Result<UniqueFd> {
      if (!guest_) return makeError(ErrorCode::kInvalidParameter, "no guest memory");
      VDEC_ASSIGN_OR_RETURN(auto ranges, Udmabuf::rangesFor(*guest_, ranges_));
      return Udmabuf::create(ranges);
    }();
    if (!created) {
      failure_ = created.error();
      return makeError(std::move(created.error()));
    }
    fd_ = std::move(*created);
    offset_ = 0;
  }
  const off_t end = ::lseek(fd_.get(), 0, SEEK_END);
  if (end < 0) {
    return makeError(ErrorCode::kBackendFailure, "lseek(dma-buf) failed: {}", std::strerror(errno));
  }
  return DmaBufInfo{fd_.get(), static_cast<uint64_t>(end), offset_, kDrmModifierLinear};
}

}  // namespace vdec::buffers
