// SPDX-License-Identifier: MIT
// DeviceConfig: limits and policies of one device instance (set from the daemon's options).
#pragma once

#include <cstdint>
#include <string>

namespace vdec {

struct DeviceConfig {
  std::string deviceName = "vdec-ffmpeg";
  uint32_t maxCapsLength = 4096;
  uint32_t maxResponseLength = 4096;
  uint32_t maxStreams = 128;         // open streams: bookkeeping only until they decode
  uint32_t maxDecodingStreams = 32;  // streams with a decoder (thread, libavcodec) at once
  uint32_t maxResourcesPerStream = 64;
  uint32_t maxEntriesPerResource = 16384;
  uint64_t maxResourceBytes = 256ull << 20;
  uint64_t maxBitstreamBytes = 32ull << 20;  // one input buffer
  uint64_t maxPendingInputBytes = 64ull << 20;  // copied input waiting in one stream's decoder
  uint32_t maxPendingEvents = 1024;
  uint32_t openTimeMinBuffers = 4;  // output min_buffers before the stream format is known
  bool offerVirtioObjects = true;
  int decoderThreads = 0;
  bool forceBounce = false;  // --copy-mode bounce: every picture is copied, for comparison
};

}  // namespace vdec
