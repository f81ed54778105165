// SPDX-License-Identifier: MIT
// BenchReport: the benchmark's results (medians over repetitions) and their three renderings:
// a terminal table, a CSV and an SVG bar chart.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vdec/base/result.h"

namespace vdec::bench {

enum class Mode { kLimit, kZeroCopy, kBounce };
std::string_view modeName(Mode mode);  // "limit", "zero-copy", "bounce"

// One run of one case (clip, output format, memory, streams at once) in one mode. NaN where a
// value does not apply or is unknown. Per-frame values are over every stream's frames.
struct RunSample {
  uint64_t frames = 0;
  double fps = 0;        // one stream: steady state (first picture to EOS); several: aggregate
  double ttffMs = 0;     // STREAM_CREATE (limit: avcodec_alloc_context3) to the first picture
  double faultsPerFrame = 0;    // minor page faults, device process (limit: this process)
  double switchesPerFrame = 0;  // context switches, device process (limit: this process)
  double callsPerFrame = 0;     // used-ring notifications to the guest; NaN for the limit
  double kicksPerFrame = 0;     // guest notifications to the device; NaN for the limit
  double deviceCpuMsPerFrame = 0;   // limit: the in-process decode (all libavcodec threads)
  double harnessCpuMsPerFrame = 0;  // the guest side (VideoDriver); NaN for the limit
  double bytesCopiedPerFrame = 0;   // device statistics; 0 for the limit
  uint64_t directFrames = 0;
  uint64_t bounceFrames = 0;
};

// Medians over the repetitions of one (clip, mode).
struct ModeResult {
  std::string clip;
  Mode mode = Mode::kLimit;
  std::vector<RunSample> runs;
  RunSample median;  // per column; frames/direct/bounce from the last run
  double ratio = 0;  // zero-copy: fps / limit fps; bounce: fps / zero-copy fps; limit: NaN
};

// The label of the machine's own round trip (scheduler_floor.h) starts with this.
inline constexpr std::string_view kMachineFloor = "machine floor";

struct LatencyResult {
  // What decodes meanwhile ("1080p-h264 x2, nice 10"), "idle", or kMachineFloor and how.
  std::string clip;
  size_t samples = 0;
  double p50Us = 0;
  double p99Us = 0;
  double maxUs = 0;
};

struct BenchReport {
  std::vector<ModeResult> results;  // clip-major, modes in Mode order
  std::vector<LatencyResult> latency;
  // Context printed under the table and in the plot's caption.
  std::string outputFormat;
  std::string memory;
  int threads = 0;
  int repeat = 0;
  std::string machine;  // "2 x Intel(R) Xeon(R) ..."

  // Fills `median` and `ratio` of every result from its runs.
  void summarize();
};

std::string formatTable(const BenchReport& report);
Status writeCsv(const std::string& path, const BenchReport& report);
Status writeSvg(const std::string& path, const BenchReport& report);

}  // namespace vdec::bench
