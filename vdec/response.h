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
// The error reply to a command of `commandType`, as long as that command's success reply: the
// guest driver never checks the response type and reads the whole reply (guest-driver.md §7,
// §9 item 9). RESOURCE_QUEUE gets its 24 bytes with flags = ERR (a failed buffer must never read
// as a frame); GET_PARAMS(_EXT) and GET_CONTROL are padded with zeros; others are the bare
// header. A GET_PARAMS(_EXT) reply carries `requestedQueue` (the request's queue_type, when it is
// INPUT or OUTPUT) in params.queue_type: the driver files the reply under that field, and a zero
// there would wipe its OUTPUT format and leave the INPUT request waiting 5 s (guest-driver.md §6).
std::vector<std::byte> errorResponseFor(uint32_t commandType, ErrorCode code, uint32_t streamId,
                                        uint32_t requestedQueue = 0);
std::vector<std::byte> okNoDataResponse(uint32_t streamId);
std::vector<std::byte> resourceQueueResponse(uint32_t streamId, uint64_t timestamp, uint32_t flags,
                                             uint32_t size);

}  // namespace vdec
