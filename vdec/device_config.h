// SPDX-License-Identifier: MIT
// DeviceConfig: limits and policies of one device instance (set from the daemon's options).
#pragma once

#include <cstdint>
#include <string>

#include "codecs/decoder_threads.h"

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
  // Copied input waiting in one stream's decoder, each input counted as its bytes plus
  // Stream::kInputEntryCost (what queuing it costs in host memory besides the copy).
  uint64_t maxPendingInputBytes = 64ull << 20;
  // Inputs waiting in one stream's decoder (answered early by DESTROY_ALL(INPUT) or not).
  uint32_t maxPendingInputs = 1024;
  // Host memory the guest can make the whole daemon hold (MemoryBudget): pending commands, copied
  // input, host pictures, resource entry tables. A quarter of a 24 GiB host.
  uint64_t maxMemory = 6ull << 30;
  // The share of it one stream may hold: a 4K 10-bit stream decoded into host pictures with 16
  // frame threads holds about 1.3 GiB (16 waiting, 16 references, one per thread).
  uint64_t maxStreamMemory = 2ull << 30;
  uint32_t maxPendingEvents = 1024;
  uint32_t openTimeMinBuffers = 4;  // output min_buffers before the stream format is known
  bool offerVirtioObjects = true;
  int decoderThreads = 0;       // --threads: per-stream maximum, 0 = automatic
  int decoderThreadBudget = 0;  // --thread-budget: all streams together, 0 = the host's cores
  codecs::DecoderPriority decoderPriority;  // --decoder-nice, --decoder-sched
  bool forceBounce = false;  // --copy-mode bounce: every picture is copied, for comparison
};

}  // namespace vdec
