// SPDX-License-Identifier: MIT
// vdec-device: the virtio-video decoder as a vhost-user back-end daemon.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "codecs/backend_factory.h"
#include "codecs/vaapi_probe.h"
#include "vdec/base/logging.h"
#include "vdec/base/time_slice.h"
#include "vdec/device_config.h"
#include "vdec/video_device.h"
#include "vdec/media/media_device.h"
#include "virtio/device_daemon.h"
#include "virtio/media_device_adapter.h"
#include "virtio/vhost_user_server.h"

namespace {

using namespace vdec;  // NOLINT(google-build-using-namespace)

constexpr const char* kDescription =
    R"(vdec-device: virtio-video decoder (virtio id 31) as a vhost-user back-end.

A VMM connects to the unix socket given with --socket-path (or hands over a socket with --fd,
or systemd passes a listening one by socket activation) and plugs the decoder into the guest
as a virtio device with two queues (commands, events). The guest's virtio-video (v3 + ChromeOS
extensions) V4L2 stateful decoder driver then decodes H.264, HEVC, VP8 and VP9 on the host with
libavcodec, in software or with VA-API (--backend). One front-end is served at a time; when it
disconnects all device state is dropped and the daemon waits for the next one.
Stop it with SIGTERM or SIGINT.

Decoder threads: all streams together use at most --thread-budget threads (default: the
host's cores); a stream gets min(--threads, budget / streams decoding, itself included), at
least 1, when its decoder opens, and keeps that count (on 2 cores: 2 for one stream, then 1 for
each further one). Decoder threads run --decoder-nice (default 10) below the device thread, so
commands are answered promptly while streams decode; --device-slice-us gives the device thread
a shorter scheduler time slice on top (off by default). --decoder-sched idle puts decoders under
SCHED_IDLE instead: every command preempts them at once, but on a host whose CPUs are busy
(vCPUs included) they get almost none (docs/benchmarks.md, "Command latency").

Example with QEMU >= 10.2 (guest RAM must be shared with the daemon):
  vdec-device --socket-path /run/vdec.sock &
  qemu-system-x86_64 -machine q35,memory-backend=mem -m 2G \
    -object memory-backend-memfd,id=mem,size=2G,share=on \
    -chardev socket,id=vvd,path=/run/vdec.sock \
    -device vhost-user-test-device-pci,chardev=vvd,virtio-id=31,num_vqs=2,vq_size=256,config_size=44 ...

--protocol media serves the same decoder as a virtio-media device (virtio id 48: V4L2 over
virtio) instead: the guest's virtio-media driver (module virtio-media, with allow_userptr=1)
exposes it as a V4L2 M2M stateful decoder. Buffers are USERPTR (guest pages) or DMABUF
(virtio objects); MMAP buffers need a shared memory region the generic vhost-user device does
not have, so REQBUFS(MMAP) fails (use v4l2-ctl --stream-user / --stream-out-user). With QEMU:
    -device vhost-user-test-device-pci,chardev=vvd,virtio-id=48,num_vqs=2,vq_size=256,config_size=40 ...
)";

// The device thread's time slice by default: the kernel's. 100 us (EEVDF's smallest) did not
// lower the latency tail on a loaded 2-core host (docs/benchmarks.md), so it is opt-in.
constexpr int kDeviceSliceUs = 0;

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

// The VHostUserBackendCapabilities object of QEMU's docs/interop/vhost-user.json: the union's
// base member "type" and nothing else, as for every type without a type-specific branch (only
// "input", "gpu" and "block" have "features"). The schema's VHostUserBackendType enum has no
// virtio-video entry yet; "video" is the name the other virtio device types' pattern gives.
// virtio-media (--protocol media) is "media", by the same pattern.
void printCapabilities(bool media) {
  std::fputs(media ? "{\n  \"type\": \"media\"\n}\n" : "{\n  \"type\": \"video\"\n}\n",
             stdout);
}

// QEMU's conventions: with --print-capabilities "other options and arguments should be
// ignored", so it is looked for before the command line is parsed (and maybe refused).
bool asksForCapabilities(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--print-capabilities") return true;
  }
  return false;
}

// --protocol as given (--protocol X or --protocol=X), read before parsing for
// --print-capabilities; "video" when absent.
std::string_view protocolArgument(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg(argv[i]);
    if (arg == "--protocol" && i + 1 < argc) return argv[i + 1];
    if (arg.starts_with("--protocol=")) return arg.substr(std::string_view("--protocol=").size());
  }
  return "video";
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

// Where the front-end comes from: exactly one of a socket path to listen on, a socket handed
// over as an fd number (--fd), or systemd socket activation (LISTEN_FDS).
struct Endpoint {
  std::string socketPath;
  int fd = -1;  // --fd or the activated socket; listening or connected
};

// The first fd systemd passes (sd_listen_fds(3)): fd 3 when LISTEN_PID is us and LISTEN_FDS=1.
int socketActivationFd() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (pid == nullptr || fds == nullptr || std::atol(pid) != static_cast<long>(::getpid())) {
    return -1;
  }
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  return std::atoi(fds) == 1 ? 3 : -1;
}

// A server on the endpoint. An fd must be a unix stream socket; a listening one is accepted on
// (front-ends one after another), a connected one is served until that front-end leaves.
Result<std::unique_ptr<virtio::VhostUserServer>> makeServer(const Endpoint& endpoint,
                                                            virtio::VirtioDevice& device) {
  if (endpoint.fd < 0) return virtio::VhostUserServer::listen(endpoint.socketPath, device);
  struct stat info {};
  int domain = 0, type = 0, listening = 0;
  socklen_t length = sizeof(int);
  errno = 0;
  if (::fstat(endpoint.fd, &info) != 0 || !S_ISSOCK(info.st_mode) ||
      ::getsockopt(endpoint.fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0 ||
      ::getsockopt(endpoint.fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0 ||
      ::getsockopt(endpoint.fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 ||
      domain != AF_UNIX || type != SOCK_STREAM) {
    return makeError(ErrorCode::kInvalidParameter, "fd {} is not a unix stream socket{}{}",
                     endpoint.fd, errno != 0 ? ": " : "", errno != 0 ? std::strerror(errno) : "");
  }
  ::fcntl(endpoint.fd, F_SETFD, FD_CLOEXEC);
  UniqueFd fd(endpoint.fd);
  if (listening != 0) return virtio::VhostUserServer::adopt(std::move(fd), device);
  return virtio::VhostUserServer::adoptConnection(std::move(fd), device);
}

int serve(const Endpoint& endpoint, virtio::VirtioDevice& adapter) {
  const std::string where =
      endpoint.fd >= 0 ? fmt::format("fd {}", endpoint.fd) : endpoint.socketPath;
  auto server = makeServer(endpoint, adapter);
  if (!server) {
    logs::virtio().error("cannot serve on {}: {}", where, server.error().message);
    return 1;
  }
  logs::virtio().info("serving on {}", where);
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
  if (asksForCapabilities(argc, argv)) {
    printCapabilities(protocolArgument(argc, argv) == "media");
    return 0;
  }
  CLI::App app{kDescription, "vdec-device"};
  std::string socketPath;
  std::string logLevel = "info";
  std::string backendName = "auto";
  std::string protocol = "video";
  bool probe = false;
  bool capabilities = false;
  DeviceConfig config;

  int fdNumber = -1;
  int deviceSliceUs = kDeviceSliceUs;
  auto* socketOption =
      app.add_option("--socket-path", socketPath, "unix socket to listen on for the front-end (VMM)");
  app.add_option("--fd", fdNumber,
                 "serve the vhost-user socket inherited as this fd: a connected one (a "
                 "socketpair end from the VMM or libvirt; the daemon exits when it closes) or a "
                 "listening one")
      ->check(CLI::NonNegativeNumber)
      ->excludes(socketOption);
  app.add_option("--log-level", logLevel, "log level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--protocol", protocol,
                 "device type: video = virtio-video (virtio id 31), media = virtio-media (virtio "
                 "id 48, V4L2 over virtio; USERPTR and DMABUF buffers only)")
      ->check(CLI::IsMember({"video", "media"}))
      ->capture_default_str();
  app.add_option("--backend", backendName, "decoder backend")
      ->check(CLI::IsMember({"auto", "ffmpeg", "vaapi"}))
      ->capture_default_str();
  std::string renderNode;
  app.add_option("--render-node", renderNode,
                 "DRM render node for VA-API, e.g. /dev/dri/renderD128 (default: the first one "
                 "whose driver initializes)");
  app.add_option("--threads", config.decoderThreads,
                 "most decoder threads of one stream (0 = automatic: the host's cores, at most 4)")
      ->check(CLI::Range(0, codecs::kMaxThreads))
      ->capture_default_str();
  app.add_option("--thread-budget", config.decoderThreadBudget,
                 "decoder threads of all streams together (0 = the host's cores); a stream "
                 "gets min(--threads, budget / streams decoding), at least 1, when it starts")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--device-slice-us", deviceSliceUs,
                 "scheduler time slice of the device thread in microseconds (Linux 6.12+): "
                 "shorter than the decoders' lets it preempt them when a command comes "
                 "(0: the kernel's default)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--decoder-nice", config.decoderPriority.niceIncrement,
                 "nice increment of decoder threads over the device thread, so commands are "
                 "answered while streams decode (0: same priority)")
      ->check(CLI::Range(0, 19))
      ->capture_default_str();
  std::string decoderSched = "nice";
  app.add_option("--decoder-sched", decoderSched,
                 "scheduling policy of decoder threads: 'nice' (SCHED_OTHER at --decoder-nice) "
                 "or 'idle' (SCHED_IDLE: a command preempts a decoder at once, but decoders "
                 "only run when no normal thread, vCPUs included, wants the CPU)")
      ->check(CLI::IsMember({"nice", "idle"}))
      ->capture_default_str();
  app.add_option("--max-streams", config.maxStreams,
                 "streams open at once (an open stream that does not decode holds no thread and "
                 "no decoder: a guest's open() of the video node is a STREAM_CREATE)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-decoding-streams", config.maxDecodingStreams,
                 "streams with a decoder at once; a stream takes one at its first input and "
                 "keeps it until STREAM_DESTROY; over the bound that input gets "
                 "ERR_OUT_OF_MEMORY and the stream an error event")
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
  app.add_option("--max-memory", config.maxMemory,
                 "host memory the guest can make the daemon hold (pending commands, copied input, "
                 "host pictures, resource entry tables), in bytes or with a unit (6GiB)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-stream-memory", config.maxStreamMemory,
                 "the share of --max-memory one stream may hold, in bytes or with a unit (2GiB)")
      ->transform(CLI::AsSizeValue(false))
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
  config.decoderPriority.idlePolicy = decoderSched == "idle";
  config.offerVirtioObjects = !noObjects;
  try {
    logs::setLevel(logLevel);
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
    Endpoint endpoint{socketPath, fdNumber};
    if (socketPath.empty() && fdNumber < 0) endpoint.fd = socketActivationFd();
    if (socketPath.empty() && endpoint.fd < 0) {
      std::fputs("--socket-path or --fd is required (see --help)\n", stderr);
      return 2;
    }
    installSignalHandlers();
    // This thread becomes the device thread; decoder threads reset the slice they inherit.
    if (deviceSliceUs > 0 && !requestTimeSlice(std::chrono::microseconds(deviceSliceUs)))
      logs::virtio().info("no custom time slice for the device thread: {}", std::strerror(errno));
    if (protocol == "media") {
      virtio::MediaDeviceAdapter adapter(
          std::make_unique<media::MediaDevice>(std::move(config), std::move(backend)));
      return serve(endpoint, adapter);
    }
    virtio::VideoDeviceAdapter adapter(
        std::make_unique<VideoDevice>(std::move(config), std::move(backend)));
    return serve(endpoint, adapter);
  } catch (const std::exception& e) {
    logs::virtio().critical("fatal: {}", e.what());
    return 1;
  }
}
