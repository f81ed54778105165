// SPDX-License-Identifier: MIT
// vdec-device: the virtio-video decoder as a vhost-user back-end daemon.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "codecs/backend_factory.h"
#include "codecs/vaapi_probe.h"
#include "vdec/base/logging.h"
#include "vdec/device_config.h"
#include "vdec/video_device.h"
#include "virtio/device_daemon.h"
#include "virtio/vhost_user_server.h"

namespace {

using namespace vdec;  // NOLINT(google-build-using-namespace)

constexpr const char* kDescription =
    R"(vdec-device: virtio-video decoder (virtio id 31) as a vhost-user back-end.

A VMM connects to the unix socket given with --socket-path and plugs the decoder into the guest
as a virtio device with two queues (commands, events). The guest's virtio-video (v3 + ChromeOS
extensions) V4L2 stateful decoder driver then decodes H.264, HEVC, VP8 and VP9 on the host with
libavcodec, in software or with VA-API (--backend). One front-end is served at a time; when it
disconnects all device state is dropped and the daemon waits for the next one.
Stop it with SIGTERM or SIGINT.

Example with QEMU >= 10.2 (guest RAM must be shared with the daemon):
  vdec-device --socket-path /run/vdec.sock &
  qemu-system-x86_64 -machine q35,memory-backend=mem -m 2G \
    -object memory-backend-memfd,id=mem,size=2G,share=on \
    -chardev socket,id=vvd,path=/run/vdec.sock \
    -device vhost-user-test-device-pci,chardev=vvd,virtio-id=31,num_vqs=2,vq_size=256,config_size=44 ...
)";

std::atomic<virtio::VhostUserServer*> gServer{nullptr};

void onSignal(int) {
  if (auto* server = gServer.load()) server->stop();
}

void installSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a vanished front-end must not kill us
}

void printCapabilities() {
  // vhost-user.json has no "video" backend type; this follows its shape.
  std::puts("{\n  \"type\": \"video\"\n}");
}

void printBackend(const codecs::DecoderBackend& backend) {
  fmt::print("backend: {}\n", backend.name());
  for (const auto& cap : backend.capabilities()) {
    fmt::print("  {}: {} profiles, {}x{} .. {}x{}\n", codecs::codedFormatName(cap.format),
               cap.profiles.size(), cap.minWidth, cap.minHeight, cap.maxWidth, cap.maxHeight);
  }
  std::string formats;
  for (auto format : backend.outputFormats()) {
    if (!formats.empty()) formats += ", ";
    formats += buffers::pixelFormatName(format);
  }
  fmt::print("  output formats: {}\n", formats);
}

void printItem(const char* name, const codecs::ProbeItem& item) {
  fmt::print("{}: {}: {}\n", name, item.available ? "available" : "unavailable", item.detail);
}

// What this host can do: the backend selected, VA-API, udmabuf, dma-buf import and the
// zero-copy matrix with the reason for every row that is unavailable.
void printProbe(const codecs::BackendSelection& selection, const std::string& renderNode) {
  printBackend(*selection.backend);
  fmt::print("  selected because: {}\n", selection.note);
  const codecs::HardwareProbe probe = codecs::probeHardware(renderNode);
  printItem("VA-API", probe.vaapi);
  for (const std::string& profile : probe.vaProfiles) fmt::print("  {}\n", profile);
  printItem("VA-API video processing (blit)", probe.videoProcessing);
  printItem("udmabuf", probe.udmabuf);
  printItem("dma-buf import", probe.dmaBufImport);
  fmt::print("zero-copy paths:\n");
  for (const codecs::ZeroCopyRow& row : codecs::zeroCopyMatrix(probe)) {
    fmt::print("  {} / {}: {}: {} ({})\n", row.resource, row.decoder, row.preferred,
               row.available ? "available" : "unavailable", row.why);
  }
}

int serve(const std::string& socketPath, DeviceConfig config,
          std::shared_ptr<codecs::DecoderBackend> backend) {
  virtio::VideoDeviceAdapter adapter(
      std::make_unique<VideoDevice>(std::move(config), std::move(backend)));
  auto server = virtio::VhostUserServer::listen(socketPath, adapter);
  if (!server) {
    logs::virtio().error("cannot listen on {}: {}", socketPath, server.error().message);
    return 1;
  }
  logs::virtio().info("listening on {}", socketPath);
  gServer.store(server->get());
  Status status = (*server)->run();
  gServer.store(nullptr);
  if (!status) {
    logs::virtio().error("event loop failed: {}", status.error().message);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "vdec-device"};
  std::string socketPath;
  std::string logLevel = "info";
  std::string backendName = "auto";
  bool probe = false;
  bool capabilities = false;
  DeviceConfig config;

  app.add_option("--socket-path", socketPath, "unix socket to listen on for the front-end (VMM)");
  app.add_option("--log-level", logLevel, "log level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--backend", backendName, "decoder backend")
      ->check(CLI::IsMember({"auto", "ffmpeg", "vaapi"}))
      ->capture_default_str();
  std::string renderNode;
  app.add_option("--render-node", renderNode,
                 "DRM render node for VA-API, e.g. /dev/dri/renderD128 (default: the first one "
                 "whose driver initializes)");
  app.add_option("--threads", config.decoderThreads, "decoder threads per stream (0 = automatic)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--max-streams", config.maxStreams, "streams open at once")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-resources", config.maxResourcesPerStream, "resources per stream queue")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-bitstream-bytes", config.maxBitstreamBytes, "bytes of one input buffer")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-entries", config.maxEntriesPerResource,
                 "guest page entries in one RESOURCE_CREATE")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-resource-bytes", config.maxResourceBytes, "bytes of one resource")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-pending-events", config.maxPendingEvents,
                 "events kept while the guest has no event buffer posted")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--open-min-buffers", config.openTimeMinBuffers,
                 "output min_buffers reported before the stream's format is known; the guest "
                 "freezes its buffer floor at open() time, so keep it small")
      ->check(CLI::Range(1, 32))
      ->capture_default_str();
  std::string copyMode = "auto";
  app.add_option("--copy-mode", copyMode,
                 "auto: decode straight into guest buffers when possible; bounce: always decode "
                 "into host frames and copy (for comparison and bug hunts)")
      ->check(CLI::IsMember({"auto", "bounce"}))
      ->capture_default_str();
  bool noObjects = false;
  app.add_flag("--no-virtio-objects", noObjects,
               "do not offer VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT (e.g. with QEMU 10.2, whose "
               "SHARED_OBJECT_LOOKUP returns no fd)");
  app.add_flag("--print-capabilities", capabilities,
               "print the vhost-user capabilities JSON and exit");
  app.add_flag("--probe", probe, "print what this host can decode and exit");
  CLI11_PARSE(app, argc, argv);

  config.forceBounce = copyMode == "bounce";
  config.offerVirtioObjects = !noObjects;
  try {
    logs::setLevel(logLevel);
    if (capabilities) {
      printCapabilities();
      return 0;
    }
    auto selection = codecs::makeBackend(backendName, renderNode);
    if (!selection) {
      logs::codecs().error("{}", selection.error().message);
      return 1;
    }
    if (probe) {
      printProbe(*selection, renderNode);
      return 0;
    }
    logs::codecs().info("decoder backend: {}: {}", selection->backend->name(), selection->note);
    auto backend = std::move(selection->backend);
    if (socketPath.empty()) {
      std::fputs("--socket-path is required (see --help)\n", stderr);
      return 2;
    }
    installSignalHandlers();
    return serve(socketPath, std::move(config), std::move(backend));
  } catch (const std::exception& e) {
    logs::virtio().critical("fatal: {}", e.what());
    return 1;
  }
}
