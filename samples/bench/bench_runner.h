// SPDX-License-Identifier: MIT
// BenchRunner: the whole comparison: clips x {limit, zero-copy, bounce}, interleaved and
// repeated so that machine noise hits every mode alike, then the command latency probe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "buffers/frame_layout.h"
#include "samples/bench/bench_report.h"
#include "samples/bench/clip_set.h"
#include "samples/harness/decode_runner.h"
#include "vdec/base/result.h"

namespace vdec::bench {

struct BenchOptions {
  std::string deviceBinary;
  std::string ffmpegTool = "ffmpeg";
  std::vector<std::string> userClips;  // empty: make the default set
  std::string clipsDir;                // where made clips go; empty: a temporary folder
  int repeat = 3;
  int threads = 0;  // 0: as the daemon picks by default (cores, 1..4)
  buffers::PixelFormat outputFormat = buffers::PixelFormat::kI420;
  harness::OutputMemory memory = harness::OutputMemory::kContiguous;
  bool quick = false;
  bool latency = true;
  int latencyProbesPerWait = 2;
};

// Runs on the caller's thread; starts two vdec-device daemons (auto and bounce copy modes).
Result<BenchReport> runBenchmark(const BenchOptions& options);

// "2 x Intel(R) Xeon(R) Processor" from /proc/cpuinfo and the usable cores.
std::string machineDescription();

}  // namespace vdec::bench
