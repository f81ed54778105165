// SPDX-License-Identifier: MIT
// Builders for virtio-video responses. Every response echoes the command's stream id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "vdec/base/result.h"

namespace vdec {

uint32_t responseTypeFor(ErrorCode code);
std::vector<std::byte> errorResponse(ErrorCode code, uint32_t streamId);
std::vector<std::byte> okNoDataResponse(uint32_t streamId);
std::vector<std::byte> resourceQueueResponse(uint32_t streamId, uint64_t timestamp, uint32_t flags,
                                             uint32_t size);

}  // namespace vdec
