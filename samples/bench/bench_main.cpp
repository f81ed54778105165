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

For every clip it runs, interleaved and --repeat times (modes rotate each repetition):
  limit      libavcodec alone in this process, same bitstream units and thread count
  zero-copy  vdec-device over vhost-user, this process as VMM + guest (--copy-mode auto)
  bounce     the same with --copy-mode bounce (every picture copied into the guest buffer)
and reports fps, CPU ms per frame (device process and guest side apart), bytes copied per frame
(the device's own statistics), zero-copy/limit and bounce/zero-copy, as medians. Then it times
GET_PARAMS_EXT round trips on a second stream, idle and while the first stream decodes.

Without CLIPS it makes 1080p H.264, HEVC, VP9 and a 2160p H.264 clip with the ffmpeg tool in a
temporary folder. Example:
  vdec-bench --csv bench.csv --svg bench.svg
)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "vdec-bench"};
  bench::BenchOptions options;
  options.deviceBinary = bench::defaultDeviceBinary();
  std::string outputFormat = "i420";
  std::string memory = "contig";
  std::string csvPath, svgPath, logLevel = "warn";

  app.add_option("CLIPS", options.userClips, "clips to decode instead of the made ones")
      ->check(CLI::ExistingFile);
  app.add_option("--device", options.deviceBinary, "the vdec-device binary")->capture_default_str();
  app.add_option("--ffmpeg", options.ffmpegTool, "the ffmpeg tool that makes the default clips")
      ->capture_default_str();
  app.add_option("--clips-dir", options.clipsDir,
                 "keep the made clips here (default: a temp folder)");
  app.add_option("--repeat", options.repeat, "repetitions; the table shows medians")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--threads", options.threads,
                 "decoder threads, for the daemon and the limit alike (0: cores, at most 4)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--output-format", outputFormat, "raw format the guest asks for")
      ->check(CLI::IsMember({"i420", "nv12", "yv12"}))
      ->capture_default_str();
  app.add_option("--memory", memory,
                 "guest output buffers: contig (guest pages, one run), sg (scattered guest "
                 "pages) or object (virtio object, dma-buf)")
      ->check(CLI::IsMember({"contig", "sg", "object"}))
      ->capture_default_str();
  app.add_option("--csv", csvPath, "write one row per clip and mode (and the latency rows)");
  app.add_option("--svg", svgPath, "write a bar chart of fps per clip and mode");
  app.add_flag("--quick", options.quick, "one tiny clip, one repetition: a smoke test");
  bool noLatency = false;
  app.add_flag("--no-latency", noLatency, "skip the command latency measurement");
  app.add_option("--log-level", logLevel, "trace|debug|info|warn|error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (options.quick && app.count("--repeat") == 0) options.repeat = 1;
  options.latency = !noLatency;
  options.outputFormat = *buffers::parsePixelFormat(outputFormat);
  options.memory = *harness::parseOutputMemory(memory);
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
