// SPDX-License-Identifier: MIT
// BenchRunner: the whole comparison: cases (clip x output format x guest memory, and several
// streams at once) x {limit, zero-copy, bounce}, interleaved and repeated so that machine noise
// hits every mode alike, then the command latency probe.
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
  std::vector<std::string> deviceArgs;  // added to every daemon's command line
  std::string ffmpegTool = "ffmpeg";
  std::vector<std::string> userClips;  // empty: make the default set
  std::string clipsDir;  // where made clips are kept and reused; empty: a temporary folder
  double seconds = 10;   // length of the made 1080p clips (2160p: 2/5 of it)
  int repeat = 3;
  int threads = 0;  // per stream, as the daemon's --threads; 0: cores, at most 4
  int threadBudget = 0;  // all streams together, as the daemon's --thread-budget; 0: cores
  std::vector<buffers::PixelFormat> outputFormats{buffers::PixelFormat::kI420};
  std::vector<harness::OutputMemory> memories{harness::OutputMemory::kContiguous};
  // Streams decoding the first 1080p clip at once (first format and memory); 1 is always run.
  std::vector<int> streamCounts{1, 2, 4};
  bool quick = false;
  bool eventIdx = true;  // negotiate VIRTIO_RING_F_EVENT_IDX when the daemon offers it
  bool latency = true;
  // Also time commands on daemons with --decoder-nice 0 (before), --device-slice-us 100 and
  // --decoder-sched idle, interleaved with the default one.
  bool latencyBaseline = true;
  int latencyProbesPerWait = 2;
};

// Runs on the caller's thread; starts the vdec-device daemons (auto and bounce copy modes, and
// the latency baseline).
Result<BenchReport> runBenchmark(const BenchOptions& options);

// "2 x Intel(R) Xeon(R) Processor" from /proc/cpuinfo and the usable cores.
std::string machineDescription();

}  // namespace vdec::bench
