// SPDX-License-Identifier: MIT
// vdec-bench: how close the device comes to plain libavcodec, with and without copies.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "samples/bench/bench_report.h"
#include "samples/bench/bench_runner.h"
#include "samples/bench/device_process.h"
#include "vdec/base/logging.h"

namespace {

using namespace vdec;  // NOLINT(google-build-using-namespace)

constexpr const char* kDescription =
    R"(vdec-bench: decoding speed of vdec-device against plain libavcodec.

For every case (each clip in each --output-format and --memory, plus the first 1080p clip
decoded by --streams streams at once) it runs, interleaved and --repeat times (modes rotate):
  limit      libavcodec alone in this process, same bitstream units and thread counts (several
             streams: one thread each, with the threads the daemon's policy gives each stream)
  zero-copy  vdec-device over vhost-user, this process as VMM + guest (--copy-mode auto)
  bounce     the same with --copy-mode bounce (every picture copied into the guest buffer)
and reports, as medians: fps (one stream: steady state, first picture to end of stream; several:
aggregate), time to first frame (STREAM_CREATE to the first picture), per frame CPU ms (device
process and guest side apart), minor page faults, context switches, used-ring notifications
(calls) and kicks, bytes copied (the device's statistics), and zero-copy/limit and
bounce/zero-copy. Then it times GET_PARAMS_EXT round trips on another stream, idle and while
1 and 2 streams decode, on the daemon and on ones started with --decoder-nice 0 (decoders at
the device thread's priority), with --device-slice-us 100 and with --decoder-sched idle,
interleaved.

Without CLIPS it makes 1080p H.264, HEVC, VP9 (--seconds long) and a 2160p H.264 clip with the
ffmpeg tool, kept in --clips-dir when given (and reused). Example:
  vdec-bench --clips-dir build/bench-clips --repeat 5 --output-format i420,nv12 --memory contig,sg
)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "vdec-bench"};
  bench::BenchOptions options;
  options.deviceBinary = bench::defaultDeviceBinary();
  std::vector<std::string> outputFormats{"i420"};
  std::vector<std::string> memories{"contig"};
  std::string csvPath, svgPath, logLevel = "warn";

  app.add_option("CLIPS", options.userClips, "clips to decode instead of the made ones")
      ->check(CLI::ExistingFile);
  app.add_option("--device", options.deviceBinary, "the vdec-device binary")->capture_default_str();
  app.add_option("--device-arg", options.deviceArgs,
                 "an option for every daemon, e.g. --device-arg=--thread-budget=8 (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--ffmpeg", options.ffmpegTool, "the ffmpeg tool that makes the default clips")
      ->capture_default_str();
  app.add_option("--clips-dir", options.clipsDir,
                 "keep the made clips here and reuse them (default: a temp folder)");
  app.add_option("--seconds", options.seconds, "length of the made 1080p clips (2160p: 2/5)")
      ->check(CLI::Range(1.0, 60.0))
      ->capture_default_str();
  app.add_option("--streams", options.streamCounts,
                 "streams decoding the first 1080p clip at once, one case each")
      ->delimiter(',')
      ->check(CLI::Range(1, 8))
      ->capture_default_str();
  app.add_option("--repeat", options.repeat, "repetitions; the table shows medians")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--threads", options.threads,
                 "decoder threads per stream at most, for the daemon (--threads) and the limit "
                 "alike (0: cores, at most 4)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--thread-budget", options.threadBudget,
                 "decoder threads of all streams together, for the daemon (--thread-budget) and "
                 "the limit alike (0: cores; e.g. 8 on 2 cores gives every stream --threads, as "
                 "before the budget existed)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--output-format", outputFormats, "raw formats the guest asks for, one case each")
      ->delimiter(',')
      ->check(CLI::IsMember({"i420", "nv12", "yv12"}))
      ->capture_default_str();
  app.add_option("--memory", memories,
                 "guest output buffers, one case each: contig (guest pages, one run), sg "
                 "(scattered guest pages, the guest's default) or object (virtio object, dma-buf)")
      ->delimiter(',')
      ->check(CLI::IsMember({"contig", "sg", "object"}))
      ->capture_default_str();
  app.add_option("--csv", csvPath, "write one row per clip and mode (and the latency rows)");
  app.add_option("--svg", svgPath, "write a bar chart of fps per clip and mode");
  app.add_flag("--quick", options.quick, "one tiny clip, one repetition: a smoke test");
  bool noEventIdx = false;
  app.add_flag("--no-event-idx", noEventIdx,
               "do not negotiate VIRTIO_RING_F_EVENT_IDX: a notification per kick and per "
               "completion batch");
  bool noLatency = false, noBaseline = false;
  app.add_flag("--no-latency", noLatency, "skip the command latency measurement");
  app.add_flag("--no-latency-baseline", noBaseline,
               "time commands only on the default daemon, not also on ones with "
               "--decoder-nice 0, with --device-slice-us 100 and with --decoder-sched idle");
  app.add_option("--log-level", logLevel, "trace|debug|info|warn|error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  options.eventIdx = !noEventIdx;
  if (options.quick && app.count("--repeat") == 0) options.repeat = 1;
  if (options.quick && app.count("--streams") == 0) options.streamCounts = {1, 2};
  options.latency = !noLatency;
  options.latencyBaseline = !noBaseline;
  options.outputFormats.clear();
  for (const std::string& name : outputFormats)
    options.outputFormats.push_back(*buffers::parsePixelFormat(name));
  options.memories.clear();
  for (const std::string& name : memories)
    options.memories.push_back(*harness::parseOutputMemory(name));
  try {
    logs::setLevel(logLevel);
    auto report = bench::runBenchmark(options);
    if (!report) {
      std::fprintf(stderr, "vdec-bench: %s\n", report.error().message.c_str());
      return 1;
    }
    std::fputs(bench::formatTable(*report).c_str(), stdout);
    if (!csvPath.empty()) {
      if (auto written = bench::writeCsv(csvPath, *report); !written) {
        std::fprintf(stderr, "vdec-bench: %s\n", written.error().message.c_str());
        return 1;
      }
      std::printf("CSV: %s\n", csvPath.c_str());
    }
    if (!svgPath.empty()) {
      if (auto written = bench::writeSvg(svgPath, *report); !written) {
        std::fprintf(stderr, "vdec-bench: %s\n", written.error().message.c_str());
        return 1;
      }
      std::printf("plot: %s\n", svgPath.c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vdec-bench: fatal: %s\n", e.what());
    return 1;
  }
}
