// SPDX-License-Identifier: MIT
// vdec-harness: plays VMM + guest driver (ChromeOS virtio-video, or virtio-media) against a
// running vdec-device: decodes a bitstream, runs a conformance manifest, or lists the device's
// capabilities.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "codecs/coded_format.h"
#include "samples/harness/bitstream_reader.h"
#include "samples/harness/conformance_manifest.h"
#include "samples/harness/conformance_runner.h"
#include "samples/harness/decode_capabilities.h"
#include "samples/harness/decode_runner.h"
#include "samples/harness/frame_sink.h"
#include "samples/harness/media_driver.h"
#include "samples/harness/media_session.h"
#include "samples/harness/media_stream_client.h"
#include "samples/harness/object_exporter.h"
#include "samples/harness/spawned_device.h"
#include "samples/harness/video_driver.h"
#include "vdec/base/logging.h"

namespace vdec::harness {
namespace {

struct CommonOptions {
  std::string socketPath;
  std::string deviceBinary;             // --device-binary: spawn it with --fd (no socketPath)
  std::vector<std::string> deviceArgs;  // more arguments for the spawned device
  std::string logLevel = "warn";
  std::string outputFormat = "nv12";
  std::string memory = "contig";
  uint32_t outputBuffers = 4;
  uint32_t inputBuffers = 4;
  std::string client = "harness";  // --client
  std::string protocol = "video";  // --protocol: video (virtio-video) or media (virtio-media)
  bool media() const { return protocol == "media"; }
  bool noEventIdx = false;          // --no-event-idx
};

struct DecodeCliOptions {
  std::string input;
  std::string codec;
  int64_t chunkBytes = -1;
  std::string framesMd5;
  std::string rawOut;
  std::string dumpFormat = "yuv420p";
  std::string png;
  uint64_t pngFrame = 0;
  std::string expectMd5;
  bool stats = false;
};

int fail(const std::string& message) {
  std::fprintf(stderr, "vdec-harness: %s\n", message.c_str());
  return 1;
}

// The driver and, with --device-binary, the daemon it drives through a socketpair. The driver
// goes first (members are destroyed in reverse order), so the daemon sees its front-end close.
struct Connection {
  std::unique_ptr<SpawnedDevice> device;
  std::unique_ptr<VideoDriver> driver;       // --protocol video
  std::unique_ptr<MediaDriver> mediaDriver;  // --protocol media

  VideoDriver& operator*() const { return *driver; }
  VideoDriver* operator->() const { return driver.get(); }
  // Disconnects; a spawned daemon must then exit by itself with status 0 (QEMU's --fd
  // convention: it serves that one front-end). Returns 0, or 1 with the reason on stderr.
  int close();
};

int Connection::close() {
  driver.reset();
  mediaDriver.reset();
  if (!device) return 0;
  Status exited = device->waitForExit(std::chrono::seconds(10));
  device.reset();
  if (!exited) return fail(exited.error().message);
  std::printf("vdec-device exited cleanly after the front-end closed\n");
  return 0;
}

Result<Connection> connect(const CommonOptions& common) {
  Connection connection;
  DriverOptions options;
  MediaDriverOptions mediaOptions;
  options.eventIdx = mediaOptions.eventIdx = !common.noEventIdx;
  std::string where = common.socketPath;
  if (!common.deviceBinary.empty()) {
    VDEC_ASSIGN_OR_RETURN(connection.device,
                          SpawnedDevice::start(common.deviceBinary, common.deviceArgs));
    options.connectedSocket = mediaOptions.connectedSocket = connection.device->socket();
    where = fmt::format("{} --fd (pid {})", common.deviceBinary, connection.device->pid());
  } else {
    options.socketPath = mediaOptions.socketPath = common.socketPath;
  }
  Status connected = okStatus();
  if (common.media()) {
    auto driver = MediaDriver::connect(mediaOptions);
    if (driver) connection.mediaDriver = std::move(*driver);
    else connected = makeError(std::move(driver.error()));
  } else {
    auto driver = VideoDriver::connect(options);
    if (driver) connection.driver = std::move(*driver);
    else connected = makeError(std::move(driver.error()));
  }
  if (connection.device) connection.device->closeSocket();  // the driver holds a duplicate
  if (!connected)
    return makeError(connected.error().code, "cannot drive the device at {}: {}", where,
                     connected.error().message);
  return connection;
}

Result<DecodeOptions> decodeOptions(const CommonOptions& common) {
  DecodeOptions options;
  auto format = buffers::parsePixelFormat(common.outputFormat);
  if (!format)
    return makeError(ErrorCode::kInvalidParameter, "unknown --output-format {}",
                     common.outputFormat);
  auto memory = parseOutputMemory(common.memory);
  if (!memory) return makeError(ErrorCode::kInvalidParameter, "unknown --memory {}", common.memory);
  options.outputFormat = *format;
  options.memory = *memory;
  options.outputBuffers = common.outputBuffers;
  options.inputBuffers = common.inputBuffers;
  auto client = parseClientMode(common.client);
  if (!client) return makeError(ErrorCode::kInvalidParameter, "unknown --client {}", common.client);
  // virtio-media has one client model (MediaStreamClient): --client is ignored there.
  options.client = common.media() ? ClientMode::kHarness : *client;
  if (common.protocol != "video" && common.protocol != "media")
    return makeError(ErrorCode::kInvalidParameter, "unknown --protocol {}", common.protocol);
  return options;
}

// Decodes one bitstream on a fresh stream (virtio-video) or session (virtio-media).
Result<DecodeSummary> decodeOn(const Connection& connection, const DecodeOptions& options,
                               const BitstreamReader& input, FrameSink& sink) {
  if (connection.mediaDriver) return MediaStreamClient(*connection.mediaDriver, options).run(input, sink);
  return DecodeRunner(*connection.driver, options).run(input, sink);
}

std::string memoryText(OutputMemory memory, const Connection& connection) {
  const ObjectExporter& exporter =
      connection.mediaDriver ? connection.mediaDriver->exporter() : connection.driver->exporter();
  const char* shared = connection.mediaDriver ? "USERPTR shared pages" : "guest pages";
  switch (memory) {
    case OutputMemory::kContiguous:
      return fmt::format("{} (contig)", shared);
    case OutputMemory::kScattered:
      return fmt::format("{} (sg)", shared);
    case OutputMemory::kObject:
      return fmt::format("{}virtio objects ({})", connection.mediaDriver ? "DMABUF " : "",
                         exporter.usesDmaBuf() ? "dma-buf" : "memfd");
  }
  return "?";
}

// --expect-md5 FILE: per-frame md5s (one per frame), or one whole-output md5.
std::string checkExpected(const std::string& path, const FrameSink& sink) {
  auto md5s = loadFrameMd5s(path);
  if (!md5s) return md5s.error().message;
  const auto& got = sink.frameMd5s();
  if (md5s->size() == 1 && got.size() != 1)
    return sink.wholeMd5() == md5s->front()
               ? std::string()
               : fmt::format("whole-output md5 {}, expected {}", sink.wholeMd5(), md5s->front());
  for (size_t i = 0; i < std::min(got.size(), md5s->size()); ++i)
    if (got[i] != (*md5s)[i])
      return fmt::format("frame {}: md5 {}, expected {}", i, got[i], (*md5s)[i]);
  if (got.size() != md5s->size())
    return fmt::format("{} frames, expected {}", got.size(), md5s->size());
  return {};
}

int runDecode(const CommonOptions& common, const DecodeCliOptions& cli) {
  BitstreamOptions bitstream;
  if (!cli.codec.empty()) {
    bitstream.codec = codecs::parseCodedFormat(cli.codec);
    if (!bitstream.codec) return fail("unknown --codec " + cli.codec);
  }
  if (cli.chunkBytes >= 0) bitstream.chunkBytes = static_cast<uint64_t>(cli.chunkBytes);
  auto input = BitstreamReader::open(cli.input, bitstream);
  if (!input) return fail(input.error().message);

  FrameSinkOptions sinkOptions;
  auto dumpFormat = parseDumpFormat(cli.dumpFormat);
  if (!dumpFormat) return fail("unknown --dump-format " + cli.dumpFormat);
  sinkOptions.dumpFormat = *dumpFormat;
  sinkOptions.rawOutPath = cli.rawOut;
  sinkOptions.framesMd5Path = cli.framesMd5;
  sinkOptions.pngPath = cli.png;
  sinkOptions.pngFrame = cli.pngFrame;
  auto sink = FrameSink::create(sinkOptions);
  if (!sink) return fail(sink.error().message);

  auto options = decodeOptions(common);
  if (!options) return fail(options.error().message);
  options->readStats = cli.stats;
  // The v4l2-ctl client cuts the file by the OUTPUT sizeimage: --chunk-bytes asks for it.
  if (options->client == ClientMode::kV4l2Ctl && cli.chunkBytes > 0)
    options->inputSizeImage = static_cast<uint64_t>(cli.chunkBytes);
  auto driver = connect(common);
  if (!driver) return fail(driver.error().message);

  logs::harness().info("{}: {} {}, {} units", cli.input, codecs::codedFormatName(input->codec()),
                       input->description(), input->units().size());
  auto summary = decodeOn(*driver, *options, *input, *sink);
  if (!summary) return fail(summary.error().message);
  if (auto finished = sink->finish(); !finished) return fail(finished.error().message);

  const buffers::Rect& visible = summary->layout.visible;
  std::printf(
      "decoded %llu frames %ux%u %s in %.2f s (%.0f fps), output %s in %s, "
      "whole-output md5 %s (%s)\n",
      static_cast<unsigned long long>(summary->frames), visible.width, visible.height,
      std::string(codecs::codedFormatName(input->codec())).c_str(), summary->seconds, summary->fps,
      std::string(buffers::pixelFormatName(options->outputFormat)).c_str(),
      memoryText(options->memory, *driver).c_str(), summary->wholeMd5.c_str(),
      std::string(dumpFormatName(*dumpFormat)).c_str());
  if (summary->resolutionChanges > 1 || summary->errorFrames > 0 || summary->inputErrors > 0)
    std::printf("  %u resolution changes, %llu error frames, %llu input errors\n",
                summary->resolutionChanges, static_cast<unsigned long long>(summary->errorFrames),
                static_cast<unsigned long long>(summary->inputErrors));
  if (options->client == ClientMode::kV4l2Ctl)
    std::printf("  v4l2-ctl client: %llu frames written, %llu skipped, STOP %s, EOS %s, "
                "left on %s\n",
                static_cast<unsigned long long>(summary->frames),
                static_cast<unsigned long long>(summary->skippedFrames),
                !summary->stopSent ? "not sent" : summary->stopDropped ? "dropped" : "sent",
                summary->gotEos ? "seen" : "not seen", summary->ending.c_str());
  if (summary->stats) {
    const StreamStats& stats = *summary->stats;
    std::printf("frames %u\nbytes_copied_per_frame %u\ndirect_frames %u\nbounce_frames %u\n"
                "error_frames %u\n",
                stats.frames, stats.bytesCopiedPerFrame, stats.directFrames, stats.bounceFrames,
                stats.errorFrames);
    std::printf("zero-copy: %u of %u frames decoded straight into guest memory, %u bounce "
                "frames, %llu bytes copied in all (%u per frame)\n",
                stats.directFrames, stats.frames, stats.bounceFrames,
                static_cast<unsigned long long>(stats.bytesCopiedPerFrame) * stats.frames,
                stats.bytesCopiedPerFrame);
  }
  if (!summary->statsUnavailable.empty())
    std::printf("statistics: not offered by the device (%s)\n", summary->statsUnavailable.c_str());
  if (summary->errorEvents > 0) return fail("the device reported an error event for the stream");
  if (!cli.expectMd5.empty()) {
    std::string mismatch = checkExpected(cli.expectMd5, *sink);
    if (!mismatch.empty()) return fail("output differs from " + cli.expectMd5 + ": " + mismatch);
    std::printf("  matches %s\n", cli.expectMd5.c_str());
  }
  return driver->close();
}

int runConformance(const CommonOptions& common, const std::string& manifestPath,
                   const std::string& filter) {
  auto manifest = ConformanceManifest::load(manifestPath);
  if (!manifest) return fail(manifest.error().message);
  auto options = decodeOptions(common);
  if (!options) return fail(options.error().message);
  auto driver = connect(common);
  if (!driver) return fail(driver.error().message);
  const Connection& connection = *driver;
  ConformanceRunner runner(
      [&connection, &options](const BitstreamReader& input, FrameSink& sink) {
        return decodeOn(connection, *options, input, sink);
      },
      ConformanceOptions{*options, filter});
  auto report = runner.run(*manifest, stdout);
  if (!report) return fail(report.error().message);
  const int closed = driver->close();
  return report->failed > 0 ? 1 : closed;
}

int runQuery(const CommonOptions& common) {
  auto driver = connect(common);
  if (!driver) return fail(driver.error().message);
  if (driver->mediaDriver) {
    const wire::virtio_media_config& config = driver->mediaDriver->config();
    std::string card(reinterpret_cast<const char*>(config.card),
                     strnlen(reinterpret_cast<const char*>(config.card), sizeof(config.card)));
    std::printf("virtio-media device \"%s\": device_caps %#x, device_type %u\n", card.c_str(),
                config.device_caps, config.device_type);
    auto formats = describeMediaFormats(*driver->mediaDriver);
    if (!formats) return fail(formats.error().message);
    std::printf("%s", formats->c_str());
    return driver->close();
  }
  const wire::virtio_video_config& config = (*driver)->config();
  std::string name(
      reinterpret_cast<const char*>(config.device_name),
      strnlen(reinterpret_cast<const char*>(config.device_name), sizeof(config.device_name)));
  std::printf("device \"%s\" version %u, max_caps_length %u, max_resp_length %u, features %#llx\n",
              name.c_str(), config.version, config.max_caps_length, config.max_resp_length,
              static_cast<unsigned long long>((*driver)->negotiatedFeatures()));
  DecodeCapabilities caps[2];
  const uint32_t queues[2] = {wire::VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                              wire::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT};
  for (int q = 0; q < 2; ++q) {
    auto response = (*driver)->queryCapability(queues[q]);
    if (!response) return fail("QUERY_CAPABILITY: " + response.error().message);
    auto parsed = DecodeCapabilities::parse(*response);
    if (!parsed) return fail(parsed.error().message);
    caps[q] = std::move(*parsed);
  }
  std::printf("input (coded) formats:\n%s", caps[0].describe(caps[1]).c_str());
  std::printf("output (raw) formats:\n%s", caps[1].describe(caps[0]).c_str());
  return driver->close();
}

int harnessMain(int argc, char** argv) {
  CLI::App app{
      "vdec-harness: plays the VMM and a guest driver (the ChromeOS virtio-video driver, or the "
      "virtio-media driver with --protocol media) against a running vdec-device (vhost-user), "
      "the way v4l2-ctl drives a stateful decoder."};
  app.require_subcommand(1);
  CommonOptions common;
  auto* socketOption =
      app.add_option("--socket-path", common.socketPath, "vhost-user socket of vdec-device");
  auto* deviceOption =
      app.add_option("--device-binary", common.deviceBinary,
                     "instead of --socket-path: start this vdec-device with one end of a "
                     "socketpair as --fd (as a VMM or libvirt does); it must exit with status 0 "
                     "when the harness disconnects")
          ->excludes(socketOption);
  app.add_option("--device-arg", common.deviceArgs,
                 "an argument for the --device-binary daemon (repeatable), e.g. "
                 "--device-arg=--log-level=warn")
      ->needs(deviceOption);
  app.add_option("--protocol", common.protocol,
                 "video (virtio-video, device id 30) or media (virtio-media, device id 48: V4L2 "
                 "ioctls over virtio; --memory contig|sg queue USERPTR buffers as shared pages, "
                 "object DMABUF buffers as virtio objects; --client is ignored); the device "
                 "must serve the same protocol")
      ->capture_default_str()
      ->check(CLI::IsMember({"video", "media"}));
  app.add_option("--log-level", common.logLevel, "trace|debug|info|warn|error|critical|off")
      ->capture_default_str();
  app.add_flag("--no-event-idx", common.noEventIdx,
               "do not negotiate VIRTIO_RING_F_EVENT_IDX (notify on every kick/completion, as "
               "a guest without it)");

  auto addStreamOptions = [&common](CLI::App* command) {
    command
        ->add_option("--output-format", common.outputFormat,
                     "raw format asked of the device: nv12|i420|yv12")
        ->capture_default_str();
    command
        ->add_option("--memory", common.memory,
                     "output buffers: contig (guest pages, one run), sg (scattered guest "
                     "pages), object (virtio objects from the UUID exporter)")
        ->capture_default_str();
    command
        ->add_option("--output-buffers", common.outputBuffers,
                     "capture buffers (v4l2-ctl: 4); 0 = as players do, what the device asks "
                     "for once the format is known (min_buffers + 2), which decodes in place")
        ->capture_default_str()
        ->check(CLI::Range(0, 32));
    command->add_option("--input-buffers", common.inputBuffers, "bitstream buffers (v4l2-ctl: 4)")
        ->capture_default_str()
        ->check(CLI::Range(1, 32));
    command
        ->add_option("--client", common.client,
                     "harness (well-behaved: drains once CAPTURE streams) or v4l2-ctl (as "
                     "v4l2-ctl --stream-mmap --stream-out-mmap --stream-from on the ARCVM "
                     "driver: sizeimage chunks, STOP dropped while CAPTURE is not streaming, "
                     "leaves 0.5 s after the last activity)")
        ->capture_default_str();
  };

  DecodeCliOptions decode;
  CLI::App* decodeCmd =
      app.add_subcommand("decode", "decode one bitstream and report frames, fps and md5s");
  decodeCmd
      ->add_option("INPUT", decode.input,
                   "Annex-B H.264/HEVC file (.264 .h264 .jsv .avc .26l .265 .h265 .hevc "
                   ".bit), or a container (IVF, WebM/Matroska, MP4)")
      ->required()
      ->check(CLI::ExistingFile);
  decodeCmd->add_option("--codec", decode.codec,
                        "h264|hevc|vp8|vp9 (raw streams with unknown extensions)");
  addStreamOptions(decodeCmd);
  decodeCmd->add_option("--chunk-bytes", decode.chunkBytes,
                        "Annex-B input cut every N bytes, 0 = whole file in one buffer (default: "
                        "whole file up to 4 MiB, else 1 MiB chunks); with --client v4l2-ctl: "
                        "the OUTPUT sizeimage asked for (default: the device's)");
  decodeCmd->add_option("--frames-md5", decode.framesMd5, "write one md5 per frame, one per line");
  decodeCmd->add_option("--raw-out", decode.rawOut, "append every visible frame to this raw file");
  decodeCmd
      ->add_option("--dump-format", decode.dumpFormat, "format of --raw-out and md5s: yuv420p|nv12")
      ->capture_default_str();
  decodeCmd->add_option("--png", decode.png, "write one frame as PNG (rgb24)");
  decodeCmd->add_option("--png-frame", decode.pngFrame, "which frame --png writes, from 0")
      ->capture_default_str();
  decodeCmd
      ->add_option("--expect-md5", decode.expectMd5,
                   "compare with a .json (md5_checksums) or .md5 file: one md5 per frame, or "
                   "a single whole-output md5; exit 1 on mismatch")
      ->check(CLI::ExistingFile);

  decodeCmd->add_flag("--stats", decode.stats,
                      "print the device's statistics for the stream (frames, "
                      "bytes_copied_per_frame, direct_frames, bounce_frames, error_frames)");

  std::string manifest;
  std::string filter;
  CLI::App* conformanceCmd = app.add_subcommand(
      "conformance", "run the vectors of a manifest.tsv and print PASS/FAIL per vector");
  conformanceCmd->add_option("MANIFEST", manifest, "manifest.tsv (file paths relative to it)")
      ->required()
      ->check(CLI::ExistingFile);
  addStreamOptions(conformanceCmd);
  conformanceCmd->add_option("--filter", filter, "only vectors whose name matches this regex");

  CLI::App* queryCmd =
      app.add_subcommand("query", "print the device's capabilities (QUERY_CAPABILITY)");

  CLI11_PARSE(app, argc, argv);
  if (common.socketPath.empty() && common.deviceBinary.empty())
    return fail("--socket-path or --device-binary is required (see --help)");
  if (!logs::setLevel(common.logLevel)) return fail("unknown --log-level " + common.logLevel);
  if (*decodeCmd) return runDecode(common, decode);
  if (*conformanceCmd) return runConformance(common, manifest, filter);
  if (*queryCmd) return runQuery(common);
  return 1;
}

}  // namespace
}  // namespace vdec::harness

int main(int argc, char** argv) {
  try {
    return vdec::harness::harnessMain(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "vdec-harness: fatal: %s\n", error.what());
    return 1;
  }
}
