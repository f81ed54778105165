// SPDX-License-Identifier: MIT
// The memory behind a resource the guest creates, for the device core: it names guest pages or
// an object fd, and gets a ResourceMemory that the decoder layer can also import as a dma-buf
// (VA-API) where the host allows it. How that import works stays inside buffers/.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "buffers/guest_memory.h"
#include "buffers/guest_pages.h"
#include "buffers/resource_memory.h"
#include "vdec/base/result.h"
#include "vdec/base/unique_fd.h"

namespace vdec::buffers {

// Guest pages (ranges used in order as one linear buffer): validated as GuestPages::create does
// (each range inside one region, no wrap, total at most maxBytes). A udmabuf of the pages is
// made only when a decoder first asks for the dma-buf.
Result<std::unique_ptr<ResourceMemory>> makeGuestPagesResource(
    std::shared_ptr<const GuestMemory> guest, std::vector<GuestRange> ranges, uint64_t maxBytes);

// A virtio object's fd (dma-buf or memfd from SHARED_OBJECT_LOOKUP); the resource starts at
// `offset` in it and is at most maxBytes long. Takes ownership of fd.
Result<std::unique_ptr<ResourceMemory>> makeObjectResource(UniqueFd fd, uint64_t offset,
                                                           uint64_t maxBytes);

}  // namespace vdec::buffers
