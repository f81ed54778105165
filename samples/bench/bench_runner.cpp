// SPDX-License-Identifier: MIT
#include "samples/bench/bench_runner.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include <fmt/format.h>

#include "samples/bench/device_process.h"
#include "samples/bench/guest_stream.h"
#include "samples/bench/latency_probe.h"
#include "samples/bench/limit_decoder.h"
#include "samples/bench/progress.h"
#include "samples/harness/bitstream_reader.h"
#include "samples/harness/video_driver.h"
#include "vdec/base/logging.h"

namespace vdec::bench {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr int kMaxAutoThreads = 4;  // as codecs/ffmpeg_session.cpp picks for --threads 0
constexpr uint32_t kDecodeStream = 1;
constexpr uint32_t kProbeStream = 2;
constexpr int kIdleProbes = 200;

double processCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct LoadedClip {
  Clip clip;
  harness::BitstreamReader reader;
};

// One daemon and the guest connected to it.
struct Device {
  std::unique_ptr<DeviceProcess> process;
  std::unique_ptr<harness::VideoDriver> driver;
};

Result<Device> startDevice(const BenchOptions& options, const std::string& dir,
                           const std::string& copyMode, int threads) {
  std::filesystem::create_directories(dir);
  Device device;
  VDEC_ASSIGN_OR_RETURN(device.process, DeviceProcess::start(options.deviceBinary, dir,
                                                             {"--copy-mode", copyMode, "--threads",
                                                              std::to_string(threads)}));
  harness::DriverOptions driverOptions;
  driverOptions.socketPath = device.process->socketPath();
  driverOptions.commandTimeout = std::chrono::milliseconds(20000);
  auto driver = harness::VideoDriver::connect(driverOptions);
  if (!driver)
    return makeError(driver.error().code, "cannot connect to vdec-device ({}): {}",
                     driver.error().message, device.process->logTail());
  device.driver = std::move(*driver);
  return device;
}

Result<RunSample> runLimit(const LoadedClip& clip, int threads) {
  const double cpuBefore = processCpuSeconds();
  VDEC_ASSIGN_OR_RETURN(LimitRun run, decodeLimit(clip.reader, threads));
  const double cpu = processCpuSeconds() - cpuBefore;
  RunSample sample;
  sample.frames = run.frames;
  sample.fps = run.seconds > 0 ? double(run.frames) / run.seconds : 0;
  sample.deviceCpuMsPerFrame = run.frames ? cpu * 1e3 / double(run.frames) : kNan;
  sample.harnessCpuMsPerFrame = kNan;
  sample.bytesCopiedPerFrame = 0;
  return sample;
}

Result<RunSample> runDevice(Device& device, const LoadedClip& clip, const BenchOptions& options,
                            const GuestStream::Hook& hook = {}) {
  GuestStreamOptions streamOptions;
  streamOptions.streamId = kDecodeStream;
  streamOptions.outputFormat = options.outputFormat;
  streamOptions.memory = options.memory;
  GuestStream stream(*device.driver, streamOptions);
  VDEC_ASSIGN_OR_RETURN(const double deviceBefore, device.process->cpuSeconds());
  const double selfBefore = processCpuSeconds();
  auto run = stream.run(clip.reader, hook);
  const double self = processCpuSeconds() - selfBefore;
  VDEC_ASSIGN_OR_RETURN(const double deviceAfter, device.process->cpuSeconds());
  if (!run)
    return makeError(run.error().code, "{}: {}\ndevice log: {}", clip.clip.name,
                     run.error().message, device.process->logTail());
  RunSample sample;
  sample.frames = run->frames;
  sample.fps = run->seconds > 0 ? double(run->frames) / run->seconds : 0;
  const double frames = run->frames ? double(run->frames) : kNan;
  sample.deviceCpuMsPerFrame = (deviceAfter - deviceBefore) * 1e3 / frames;
  sample.harnessCpuMsPerFrame = self * 1e3 / frames;
  sample.bytesCopiedPerFrame = run->stats ? double(run->stats->bytesCopiedPerFrame) : kNan;
  if (run->stats) {
    sample.directFrames = run->stats->directFrames;
    sample.bounceFrames = run->stats->bounceFrames;
  }
  return sample;
}

ModeResult& resultFor(BenchReport& report, const std::string& clip, Mode mode) {
  for (ModeResult& result : report.results)
    if (result.clip == clip && result.mode == mode) return result;
  ModeResult& added = report.results.emplace_back();
  added.clip = clip;
  added.mode = mode;
  return added;
}

// The clip the latency probe decodes meanwhile: the first 1080p one, else the first.
const LoadedClip& latencyClip(const std::vector<LoadedClip>& clips) {
  for (const LoadedClip& clip : clips)
    if (clip.clip.name.find("1080p") != std::string::npos) return clip;
  return clips.front();
}

}  // namespace

std::string machineDescription() {
  std::ifstream in("/proc/cpuinfo");
  std::string model = "unknown CPU";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  return fmt::format("{} cores, {}", std::thread::hardware_concurrency(), model);
}

Result<BenchReport> runBenchmark(const BenchOptions& options) {
  const int threads =
      options.threads > 0
          ? options.threads
          : std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, kMaxAutoThreads);
  VDEC_ASSIGN_OR_RETURN(TempDir temp, TempDir::create("vdec-bench"));
  const std::string clipsDir = options.clipsDir.empty() ? temp.path() : options.clipsDir;
  std::filesystem::create_directories(clipsDir);

  const auto specs = defaultClipSpecs(options.quick);
  const size_t clipCount = options.userClips.empty() ? specs.size() : options.userClips.size();
  const int latencyRuns = options.latency ? options.repeat : 0;
  const int steps = int(options.userClips.empty() ? specs.size() : 0) +
                    options.repeat * int(clipCount) * 3 + latencyRuns + (options.latency ? 1 : 0);
  Progress progress(steps);

  std::vector<LoadedClip> clips;
  for (size_t i = 0; i < clipCount; ++i) {
    Clip clip;
    if (options.userClips.empty()) {
      progress.begin(fmt::format("making {} with {}", specs[i].name, options.ffmpegTool));
      VDEC_ASSIGN_OR_RETURN(clip, makeClip(options.ffmpegTool, specs[i], clipsDir));
      progress.end("done");
    } else {
      clip = userClip(options.userClips[i]);
    }
    auto reader = harness::BitstreamReader::open(clip.path, {});
    if (!reader) return makeError(reader.error().code, "{}: {}", clip.path, reader.error().message);
    clips.push_back({clip, std::move(*reader)});
  }

  VDEC_ASSIGN_OR_RETURN(Device zeroCopy,
                        startDevice(options, temp.path() + "/zero-copy", "auto", threads));
  VDEC_ASSIGN_OR_RETURN(Device bounce,
                        startDevice(options, temp.path() + "/bounce", "bounce", threads));

  BenchReport report;
  report.outputFormat = std::string(buffers::pixelFormatName(options.outputFormat));
  report.memory = std::string(harness::outputMemoryName(options.memory));
  report.threads = threads;
  report.repeat = options.repeat;
  report.machine = machineDescription();
  for (const LoadedClip& clip : clips)
    for (Mode mode : {Mode::kLimit, Mode::kZeroCopy, Mode::kBounce})
      resultFor(report, clip.clip.name, mode);

  // Warm-up, not counted: page cache, the daemons' first allocations, libavcodec's tables.
  if (!options.quick) {
    (void)runLimit(clips.front(), threads);
    VDEC_TRY(runDevice(zeroCopy, clips.front(), options));
    VDEC_TRY(runDevice(bounce, clips.front(), options));
  }

  for (int r = 0; r < options.repeat; ++r) {
    for (const LoadedClip& clip : clips) {
      std::vector<Mode> order{Mode::kLimit, Mode::kZeroCopy, Mode::kBounce};
      std::rotate(order.begin(), order.begin() + r % 3, order.end());
      for (Mode mode : order) {
        progress.begin(
            fmt::format("run {}/{} {} {}", r + 1, options.repeat, clip.clip.name, modeName(mode)));
        Result<RunSample> sample = mode == Mode::kLimit      ? runLimit(clip, threads)
                                   : mode == Mode::kZeroCopy ? runDevice(zeroCopy, clip, options)
                                                             : runDevice(bounce, clip, options);
        if (!sample) return makeError(sample.error());
        progress.end(fmt::format("{:.1f} fps, {} frames", sample->fps, sample->frames));
        resultFor(report, clip.clip.name, mode).runs.push_back(*sample);
      }
    }
  }

  if (options.latency) {
    LatencyProbe idle(*zeroCopy.driver, kProbeStream);
    progress.begin("latency, idle device");
    VDEC_TRY(idle.open());
    VDEC_TRY(idle.probe(kIdleProbes));
    idle.close();
    report.latency.push_back(idle.summarize("idle"));
    progress.end(fmt::format("p50 {:.0f} us", report.latency.back().p50Us));

    const LoadedClip& busy = latencyClip(clips);
    LatencyProbe probe(*zeroCopy.driver, kProbeStream);
    VDEC_TRY(probe.open());
    for (int r = 0; r < latencyRuns; ++r) {
      progress.begin(
          fmt::format("latency {}/{} while decoding {}", r + 1, latencyRuns, busy.clip.name));
      VDEC_TRY(runDevice(zeroCopy, busy, options,
                         [&] { return probe.probe(options.latencyProbesPerWait); }));
      progress.end(fmt::format("{} samples", probe.samples()));
    }
    probe.close();
    report.latency.push_back(probe.summarize(busy.clip.name));
  }
  progress.finish();

  for (const LoadedClip& clip : clips) {
    const ModeResult& limit = resultFor(report, clip.clip.name, Mode::kLimit);
    for (Mode mode : {Mode::kZeroCopy, Mode::kBounce}) {
      const ModeResult& device = resultFor(report, clip.clip.name, mode);
      if (!limit.runs.empty() && !device.runs.empty() &&
          limit.runs.back().frames != device.runs.back().frames)
        logs::harness().warn("{}: {} decoded {} frames, libavcodec alone {}", clip.clip.name,
                             modeName(mode), device.runs.back().frames, limit.runs.back().frames);
    }
  }
  report.summarize();
  return report;
}

}  // namespace vdec::bench
