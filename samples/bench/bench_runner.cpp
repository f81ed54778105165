// SPDX-License-Identifier: MIT
#include "samples/bench/bench_runner.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include <fmt/format.h>

#include "codecs/decoder_threads.h"
#include "samples/bench/device_process.h"
#include "samples/bench/guest_stream.h"
#include "samples/bench/latency_probe.h"
#include "samples/bench/limit_decoder.h"
#include "samples/bench/process_counters.h"
#include "samples/bench/progress.h"
#include "samples/bench/scheduler_floor.h"
#include "samples/harness/bitstream_reader.h"
#include "samples/harness/video_driver.h"
#include "vdec/base/logging.h"

namespace vdec::bench {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr uint32_t kProbeStream = 100;  // clear of the decoding streams' ids 1..N
constexpr int kIdleProbes = 200;
// Round trips of the machine's floor (scheduler_floor.h), about as many as 2 streams' probes.
constexpr int kFloorProbes = 5000;
constexpr int kLatencyStreams[] = {1, 2};

int hostCores() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

struct LoadedClip {
  Clip clip;
  harness::BitstreamReader reader;
};

// What one measured run decodes: a clip, as which format into which memory, how many at once.
struct BenchCase {
  const LoadedClip* clip = nullptr;
  buffers::PixelFormat format = buffers::PixelFormat::kI420;
  harness::OutputMemory memory = harness::OutputMemory::kContiguous;
  int streams = 1;
  std::string label;  // "1080p-h264 nv12/sg x2"
};

// One daemon and the guest connected to it.
struct Device {
  std::unique_ptr<DeviceProcess> process;
  std::unique_ptr<harness::VideoDriver> driver;
};

Result<Device> startDevice(const BenchOptions& options, const std::string& dir,
                           std::vector<std::string> args) {
  std::filesystem::create_directories(dir);
  Device device;
  args.insert(args.end(), {"--thread-budget", std::to_string(options.threadBudget)});
  args.insert(args.end(), options.deviceArgs.begin(), options.deviceArgs.end());
  VDEC_ASSIGN_OR_RETURN(device.process, DeviceProcess::start(options.deviceBinary, dir, args));
  harness::DriverOptions driverOptions;
  driverOptions.socketPath = device.process->socketPath();
  driverOptions.commandTimeout = std::chrono::milliseconds(20000);
  driverOptions.ramBytes = 1536ull << 20;  // four 1080p streams' output buffers
  driverOptions.eventIdx = options.eventIdx;
  auto driver = harness::VideoDriver::connect(driverOptions);
  if (!driver)
    return makeError(driver.error().code, "cannot connect to vdec-device ({}): {}",
                     driver.error().message, device.process->logTail());
  device.driver = std::move(*driver);
  return device;
}

// Threads the daemon gives the i-th of several streams started one after the other.
std::vector<int> streamThreads(int threads, int budget, int streams) {
  std::vector<int> result;
  for (int i = 1; i <= streams; ++i)
    result.push_back(codecs::decoderThreadsFor(threads, budget, i, hostCores()));
  return result;
}

double steadyFps(uint64_t frames, double seconds, double firstFrameSeconds) {
  const double steady = seconds - firstFrameSeconds;
  return frames > 1 && steady > 0 ? double(frames - 1) / steady : kNan;
}

Result<RunSample> runLimit(const BenchCase& c, int threads, int budget) {
  const ProcessCounters before = selfCounters();
  std::vector<const harness::BitstreamReader*> inputs(c.streams, &c.clip->reader);
  double wall = 0;
  VDEC_ASSIGN_OR_RETURN(std::vector<LimitRun> runs,
                        decodeLimitConcurrently(inputs, streamThreads(threads, budget, c.streams), wall));
  const ProcessCounters spent = selfCounters() - before;
  RunSample sample;
  for (const LimitRun& run : runs) sample.frames += run.frames;
  const double frames = sample.frames ? double(sample.frames) : kNan;
  sample.fps = c.streams == 1 ? steadyFps(runs[0].frames, runs[0].seconds, runs[0].firstFrameSeconds)
                              : frames / wall;
  sample.ttffMs = runs[0].firstFrameSeconds * 1e3;
  sample.deviceCpuMsPerFrame = spent.cpuSeconds * 1e3 / frames;
  sample.harnessCpuMsPerFrame = kNan;
  sample.faultsPerFrame = double(spent.minorFaults) / frames;
  sample.switchesPerFrame = double(spent.contextSwitches) / frames;
  sample.callsPerFrame = sample.kicksPerFrame = kNan;
  sample.bytesCopiedPerFrame = 0;
  return sample;
}

// Decodes `c` on `device`; `hook` runs between waits (the latency probe).
Result<RunSample> runDevice(Device& device, const BenchCase& c, const GuestStream::Hook& hook = {}) {
  std::vector<std::unique_ptr<GuestStream>> owned;
  std::vector<GuestStream*> streams;
  std::vector<const harness::BitstreamReader*> inputs;
  for (int i = 0; i < c.streams; ++i) {
    GuestStreamOptions streamOptions;
    streamOptions.streamId = static_cast<uint32_t>(i + 1);
    streamOptions.outputFormat = c.format;
    streamOptions.memory = c.memory;
    owned.push_back(std::make_unique<GuestStream>(*device.driver, streamOptions));
    streams.push_back(owned.back().get());
    inputs.push_back(&c.clip->reader);
  }
  VDEC_ASSIGN_OR_RETURN(const ProcessCounters deviceBefore,
                        readProcessCounters(device.process->pid()));
  const ProcessCounters selfBefore = selfCounters();
  const harness::NotificationCounts notifiedBefore = device.driver->notifications();
  Result<ProcessCounters> deviceAtEnd = deviceBefore;
  auto runs = runConcurrently(*device.driver, streams, inputs, hook, [&] {
    deviceAtEnd = readProcessCounters(device.process->pid());
  });
  const ProcessCounters self = selfCounters() - selfBefore;
  const harness::NotificationCounts notified = device.driver->notifications();
  if (!runs)
    return makeError(runs.error().code, "{}: {}\ndevice log: {}", c.label, runs.error().message,
                     device.process->logTail());
  VDEC_TRY(deviceAtEnd);
  const ProcessCounters spent = *deviceAtEnd - deviceBefore;
  RunSample sample;
  auto first = runs->front().createdAt;
  auto last = runs->front().eosAt;
  for (const GuestRun& run : *runs) {
    sample.frames += run.frames;
    first = std::min(first, run.createdAt);
    last = std::max(last, run.eosAt);
  }
  const double frames = sample.frames ? double(sample.frames) : kNan;
  const GuestRun& lead = runs->front();
  sample.fps = c.streams == 1 ? steadyFps(lead.frames, lead.seconds, lead.firstFrameSeconds)
                              : frames / std::chrono::duration<double>(last - first).count();
  sample.ttffMs = lead.firstFrameSeconds * 1e3;
  sample.deviceCpuMsPerFrame = spent.cpuSeconds * 1e3 / frames;
  sample.harnessCpuMsPerFrame = self.cpuSeconds * 1e3 / frames;
  sample.faultsPerFrame = double(spent.minorFaults) / frames;
  sample.switchesPerFrame = double(spent.contextSwitches) / frames;
  sample.callsPerFrame = double(notified.calls - notifiedBefore.calls) / frames;
  sample.kicksPerFrame = double(notified.kicks - notifiedBefore.kicks) / frames;
  sample.bytesCopiedPerFrame = lead.stats ? double(lead.stats->bytesCopiedPerFrame) : kNan;
  if (lead.stats) {
    sample.directFrames = lead.stats->directFrames;
    sample.bounceFrames = lead.stats->bounceFrames;
  }
  return sample;
}

ModeResult& resultFor(BenchReport& report, const std::string& label, Mode mode) {
  for (ModeResult& result : report.results)
    if (result.clip == label && result.mode == mode) return result;
  ModeResult& added = report.results.emplace_back();
  added.clip = label;
  added.mode = mode;
  return added;
}

// The clip several streams decode at once and the latency probe decodes meanwhile: the first
// 1080p one, else the first.
const LoadedClip& concurrencyClip(const std::vector<LoadedClip>& clips) {
  for (const LoadedClip& clip : clips)
    if (clip.clip.name.find("1080p") != std::string::npos) return clip;
  return clips.front();
}

std::vector<BenchCase> makeCases(const BenchOptions& options,
                                 const std::vector<LoadedClip>& clips) {
  std::vector<BenchCase> cases;
  auto label = [](const LoadedClip& clip, buffers::PixelFormat format,
                  harness::OutputMemory memory, int streams) {
    std::string text = fmt::format("{} {}/{}", clip.clip.name, buffers::pixelFormatName(format),
                                   harness::outputMemoryName(memory));
    return streams > 1 ? fmt::format("{} x{}", text, streams) : text;
  };
  for (const LoadedClip& clip : clips)
    for (buffers::PixelFormat format : options.outputFormats)
      for (harness::OutputMemory memory : options.memories)
        cases.push_back({&clip, format, memory, 1, label(clip, format, memory, 1)});
  const LoadedClip& many = concurrencyClip(clips);
  for (int streams : options.streamCounts)
    if (streams > 1)
      cases.push_back({&many, options.outputFormats.front(), options.memories.front(), streams,
                       label(many, options.outputFormats.front(), options.memories.front(),
                             streams)});
  return cases;
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
  const int threads = options.threads > 0 ? options.threads
                                          : codecs::decoderThreadsFor(0, 0, 1, hostCores());
  VDEC_ASSIGN_OR_RETURN(TempDir temp, TempDir::create("vdec-bench"));
  const std::string clipsDir = options.clipsDir.empty() ? temp.path() : options.clipsDir;
  std::filesystem::create_directories(clipsDir);

  const auto specs = defaultClipSpecs(options.quick, options.seconds);
  const size_t clipCount = options.userClips.empty() ? specs.size() : options.userClips.size();
  std::vector<LoadedClip> clips;
  clips.reserve(clipCount);
  Progress making(int(options.userClips.empty() ? specs.size() : 0));
  for (size_t i = 0; i < clipCount; ++i) {
    Clip clip;
    if (options.userClips.empty()) {
      making.begin(fmt::format("making {} with {}", specs[i].name, options.ffmpegTool));
      VDEC_ASSIGN_OR_RETURN(clip, makeClip(options.ffmpegTool, specs[i], clipsDir));
      making.end("done");
    } else {
      clip = userClip(options.userClips[i]);
    }
    auto reader = harness::BitstreamReader::open(clip.path, {});
    if (!reader) return makeError(reader.error().code, "{}: {}", clip.path, reader.error().message);
    clips.push_back({clip, std::move(*reader)});
  }
  making.finish();
  const std::vector<BenchCase> cases = makeCases(options, clips);
  const int latencyRuns = options.latency ? options.repeat : 0;
  const int daemonsPerLatencyRun = options.latencyBaseline ? 4 : 1;
  Progress progress(options.repeat * int(cases.size()) * 3 +
                    latencyRuns * daemonsPerLatencyRun * int(std::size(kLatencyStreams)) +
                    (options.latency ? 1 : 0) + (options.latency && options.latencyBaseline ? 1 : 0));

  const std::string threadArg = std::to_string(threads);
  VDEC_ASSIGN_OR_RETURN(Device zeroCopy, startDevice(options, temp.path() + "/zero-copy",
                                                     {"--copy-mode", "auto", "--threads", threadArg}));
  VDEC_ASSIGN_OR_RETURN(Device bounce, startDevice(options, temp.path() + "/bounce",
                                                   {"--copy-mode", "bounce", "--threads", threadArg}));

  BenchReport report;
  auto names = [](const auto& values, auto name) {
    std::string text;
    for (const auto& value : values) text += (text.empty() ? "" : ",") + std::string(name(value));
    return text;
  };
  report.outputFormat = names(options.outputFormats, buffers::pixelFormatName);
  report.memory = names(options.memories, harness::outputMemoryName);
  report.threads = threads;
  report.repeat = options.repeat;
  report.machine = machineDescription();
  for (const BenchCase& c : cases)
    for (Mode mode : {Mode::kLimit, Mode::kZeroCopy, Mode::kBounce}) resultFor(report, c.label, mode);

  // Warm-up, not counted: page cache, the daemons' first allocations, libavcodec's tables.
  if (!options.quick) {
    (void)runLimit(cases.front(), threads, options.threadBudget);
    VDEC_TRY(runDevice(zeroCopy, cases.front()));
    VDEC_TRY(runDevice(bounce, cases.front()));
  }

  for (int r = 0; r < options.repeat; ++r) {
    for (const BenchCase& c : cases) {
      std::vector<Mode> order{Mode::kLimit, Mode::kZeroCopy, Mode::kBounce};
      std::rotate(order.begin(), order.begin() + r % 3, order.end());
      for (Mode mode : order) {
        progress.begin(fmt::format("run {}/{} {} {}", r + 1, options.repeat, c.label, modeName(mode)));
        Result<RunSample> sample = mode == Mode::kLimit ? runLimit(c, threads, options.threadBudget)
                                   : mode == Mode::kZeroCopy ? runDevice(zeroCopy, c)
                                                             : runDevice(bounce, c);
        if (!sample) return makeError(sample.error());
        progress.end(fmt::format("{:.1f} fps, {} frames", sample->fps, sample->frames));
        resultFor(report, c.label, mode).runs.push_back(*sample);
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
    if (options.latencyBaseline) {
      progress.begin("latency floor of the machine (no daemon)");
      report.latency.push_back(measureSchedulerFloor(kFloorProbes, std::chrono::milliseconds(1)));
      progress.end(fmt::format("max {:.0f} us", report.latency.back().maxUs));
    }

    // The same streams on a daemon whose decoders run at the device thread's priority (before),
    // on the default one, on one whose device thread also asks for a 0.1 ms time slice, and on
    // one whose decoders run under SCHED_IDLE.
    struct Variant {
      Device* device;
      std::string name;
    };
    std::vector<Variant> variants;
    std::vector<Device> baselines;
    baselines.reserve(3);
    if (options.latencyBaseline) {
      const std::vector<std::pair<std::string, std::vector<std::string>>> settings{
          {"decoder nice 0", {"--decoder-nice", "0"}},
          {"decoder nice 10, device slice 0.1 ms", {"--device-slice-us", "100"}},
          {"decoder SCHED_IDLE", {"--decoder-sched", "idle"}}};
      for (const auto& [name, args] : settings) {
        std::vector<std::string> all{"--copy-mode", "auto", "--threads", threadArg};
        all.insert(all.end(), args.begin(), args.end());
        VDEC_ASSIGN_OR_RETURN(Device device,
                              startDevice(options, fmt::format("{}/baseline{}", temp.path(),
                                                               baselines.size()),
                                          all));
        baselines.push_back(std::move(device));
        variants.push_back({&baselines.back(), name});
      }
    }
    variants.insert(variants.begin() + (variants.empty() ? 0 : 1), {&zeroCopy, "decoder nice 10"});
    struct Probed {
      Device* device;
      int streams;
      std::string label;
      std::unique_ptr<LatencyProbe> probe;
    };
    std::vector<Probed> probed;
    const LoadedClip& busy = concurrencyClip(clips);
    for (int streams : kLatencyStreams)
      for (const Variant& variant : variants)
        probed.push_back({variant.device, streams,
                          fmt::format("{} x{}, {}", busy.clip.name, streams, variant.name),
                          nullptr});
    for (size_t i = 0; i < probed.size(); ++i) {
      Probed& p = probed[i];
      const auto id = static_cast<uint32_t>(kProbeStream + i);  // one per daemon and stream count
      p.probe = std::make_unique<LatencyProbe>(*p.device->driver, id);
      VDEC_TRY(p.probe->open());
    }
    for (int r = 0; r < latencyRuns; ++r) {
      for (size_t i = 0; i < probed.size(); ++i) {
        // Rotate which daemon goes first, so all see the same machine.
        const size_t n = variants.size();
        Probed& p = probed[i / n * n + (i + size_t(r)) % n];
        progress.begin(fmt::format("latency {}/{} during {}", r + 1, latencyRuns, p.label));
        const BenchCase c{&busy, options.outputFormats.front(), options.memories.front(),
                          p.streams, p.label};
        VDEC_TRY(runDevice(*p.device, c,
                           [&] { return p.probe->probe(options.latencyProbesPerWait); }));
        progress.end(fmt::format("{} samples", p.probe->samples()));
      }
    }
    for (Probed& p : probed) {
      p.probe->close();
      report.latency.push_back(p.probe->summarize(p.label));
    }
  }
  progress.finish();

  for (const BenchCase& c : cases) {
    const ModeResult& limit = resultFor(report, c.label, Mode::kLimit);
    for (Mode mode : {Mode::kZeroCopy, Mode::kBounce}) {
      const ModeResult& device = resultFor(report, c.label, mode);
      if (!limit.runs.empty() && !device.runs.empty() &&
          limit.runs.back().frames != device.runs.back().frames)
        logs::harness().warn("{}: {} decoded {} frames, libavcodec alone {}", c.label,
                             modeName(mode), device.runs.back().frames, limit.runs.back().frames);
    }
  }
  report.summarize();
  return report;
}

}  // namespace vdec::bench
