// SPDX-License-Identifier: MIT
// MediaDriver: VMM start-up plus the virtio-media guest driver's command and event paths.
#include "samples/harness/media_driver.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>

#include "samples/harness/driver_virtqueue.h"
#include "samples/harness/object_exporter.h"
#include "samples/harness/vhost_user_frontend.h"
#include "vdec/base/logging.h"
#include "vdec/base/wire.h"

namespace vdec::harness {
namespace {

using Clock = std::chrono::steady_clock;
using buffers::GuestRange;

// One command is in flight at a time (the guest's device-wide mutex), so its descriptors live
// in two fixed areas of guest RAM, reused by every command.
constexpr uint64_t kReadableArea = 2ull << 20;  // SG lists of big scattered frames fit
constexpr uint64_t kWritableArea = 64ull << 10;
constexpr size_t kEventSize = sizeof(wire::virtio_media_event_dqbuf);  // 608
constexpr size_t kMaxUnclaimedEvents = 16;

}  // namespace

std::string errnoName(uint32_t status) {
  switch (status) {
    case 0: return "OK";
    case EINVAL: return "EINVAL";
    case ENOTTY: return "ENOTTY";
    case ENOMEM: return "ENOMEM";
    case EBUSY: return "EBUSY";
    case EPIPE: return "EPIPE";
    case EIO: return "EIO";
    case EAGAIN: return "EAGAIN";
    case EPERM: return "EPERM";
    case ENOSPC: return "ENOSPC";
    case EFAULT: return "EFAULT";
    case ENODEV: return "ENODEV";
    default: return fmt::format("errno {}", status);
  }
}

ErrorCode errorCodeForErrno(uint32_t status) {
  switch (status) {
    case EINVAL: return ErrorCode::kInvalidParameter;
    case ENOTTY: return ErrorCode::kUnsupported;
    case ENOMEM: return ErrorCode::kOutOfMemory;
    case EBUSY:
    case EPIPE: return ErrorCode::kInvalidOperation;
    default: return ErrorCode::kBackendFailure;
  }
}

struct MediaDriver::Impl {
  // Declaration order = reverse destruction order: the socket closes first, RAM goes last.
  MediaDriverOptions options;
  GuestRam ram;
  std::unique_ptr<ObjectExporter> exporter;
  std::optional<DriverVirtqueue> command;
  std::optional<DriverVirtqueue> event;
  UniqueFd errFds[2];
  GuestRange readableArea{};
  GuestRange writableArea{};
  wire::virtio_media_config config{};
  uint64_t features = 0;
  std::map<uint16_t, GuestRange> eventBuffers;  // event queue head -> its 608-byte buffer
  std::optional<uint16_t> inFlight;             // the command's head
  std::optional<UsedElem> completed;            // its completion
  std::map<uint32_t, std::deque<MediaEvent>> sessions;
  std::deque<MediaEvent> unclaimed;  // events of sessions not tracked (yet)
  std::string failure;  // set once the connection is unusable
  std::unique_ptr<VhostUserFrontend> frontend;

  Error fail(std::string reason) {
    if (failure.empty()) failure = std::move(reason);
    return Error{ErrorCode::kBackendFailure, failure};
  }
  Status usable() const {
    if (!failure.empty()) return makeError(ErrorCode::kBackendFailure, "{}", failure);
    return okStatus();
  }
  Status postEvent(const GuestRange& buffer);
  Status handleEvent(const UsedElem& used);
  Status drainQueues();
  Result<bool> waitUntil(const std::function<bool()>& ready, Clock::time_point deadline);
};

Status MediaDriver::Impl::postEvent(const GuestRange& buffer) {
  std::memset(ram.at(buffer.address.value, buffer.length).data(), 0, buffer.length);
  const GuestRange writable[] = {buffer};
  auto head = event->addChain({}, writable);
  if (!head) return makeError(fail("posting an event buffer: " + head.error().message));
  eventBuffers.emplace(*head, buffer);
  return okStatus();
}

Status MediaDriver::Impl::handleEvent(const UsedElem& used) {
  auto it = eventBuffers.find(used.head);
  if (it == eventBuffers.end())
    return makeError(fail(fmt::format("eventq returned head {} with no buffer", used.head)));
  const GuestRange buffer = it->second;
  eventBuffers.erase(it);
  const size_t length = std::min<size_t>(used.len, buffer.length);
  auto view = ram.at(buffer.address.value, length);
  MediaEvent ev;
  ev.bytes.assign(view.begin(), view.end());
  if (auto header = readWire<wire::virtio_media_event_header>(ev.bytes)) {
    ev.type = header->event;
    ev.sessionId = header->session_id;
    auto session = sessions.find(ev.sessionId);
    if (session != sessions.end()) {
      session->second.push_back(std::move(ev));
    } else {
      // Possibly a session whose OPEN completes in this same pass: kept (a few) until
      // trackSession(), else dropped as the guest drops them.
      if (unclaimed.size() == kMaxUnclaimedEvents) {
        logs::harness().warn("event {} for unknown session {} dropped", unclaimed.front().type,
                             unclaimed.front().sessionId);
        unclaimed.pop_front();
      }
      unclaimed.push_back(std::move(ev));
    }
  } else {
    logs::harness().warn("event of {} bytes dropped (shorter than its header)", length);
  }
  // Re-post the buffer, as the guest's event work does once it handled the event.
  return postEvent(buffer);
}

Status MediaDriver::Impl::drainQueues() {
  command->clearCall();
  event->clearCall();
  for (;;) {
    auto used = command->popUsed();
    if (!used) return makeError(fail(used.error().message));
    if (!*used) break;
    if (!inFlight || (*used)->head != *inFlight)
      return makeError(fail(fmt::format("commandq returned head {} with no command", (*used)->head)));
    completed = **used;
    inFlight.reset();
  }
  bool reposted = false;
  for (;;) {
    auto used = event->popUsed();
    if (!used) return makeError(fail(used.error().message));
    if (!*used) break;
    VDEC_TRY(handleEvent(**used));
    reposted = true;
  }
  if (reposted) event->kick();
  return okStatus();
}

Result<bool> MediaDriver::Impl::waitUntil(const std::function<bool()>& ready,
                                          Clock::time_point deadline) {
  for (;;) {
    VDEC_TRY(usable());
    VDEC_TRY(drainQueues());
    if (ready()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    const auto remaining = std::min<int64_t>(
        std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count(), 3600 * 1000);
    pollfd fds[3] = {{command->callFd(), POLLIN, 0},
                     {event->callFd(), POLLIN, 0},
                     {frontend->socket(), POLLRDHUP, 0}};
    const int rc = ::poll(fds, 3, static_cast<int>(remaining));
    if (rc < 0 && errno != EINTR)
      return makeError(fail(fmt::format("poll: {}", std::strerror(errno))));
    if (rc > 0 && (fds[2].revents & (POLLHUP | POLLERR | POLLRDHUP))) {
      VDEC_TRY(drainQueues());  // what the device completed before it went away still counts
      if (ready()) return true;
      return makeError(fail(fmt::format("{} closed the connection", frontend->name())));
    }
  }
}

MediaDriver::MediaDriver() : impl_(std::make_unique<Impl>()) {}
MediaDriver::~MediaDriver() = default;

Result<std::unique_ptr<MediaDriver>> MediaDriver::connect(const MediaDriverOptions& options) {
  std::unique_ptr<MediaDriver> driver(new MediaDriver());
  Impl& d = *driver->impl_;
  d.options = options;
  VDEC_ASSIGN_OR_RETURN(d.ram, GuestRam::create(options.ramBytes));
  VDEC_ASSIGN_OR_RETURN(d.exporter, ObjectExporter::create());
  VDEC_ASSIGN_OR_RETURN(auto command, DriverVirtqueue::create(d.ram, wire::VIRTIO_MEDIA_COMMANDQ,
                                                              options.commandQueueSize));
  d.command.emplace(std::move(command));
  VDEC_ASSIGN_OR_RETURN(
      auto event, DriverVirtqueue::create(d.ram, wire::VIRTIO_MEDIA_EVENTQ, options.eventQueueSize));
  d.event.emplace(std::move(event));
  for (auto& fd : d.errFds) {
    fd = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd.isValid())
      return makeError(ErrorCode::kBackendFailure, "eventfd: {}", std::strerror(errno));
  }
  VDEC_ASSIGN_OR_RETURN(d.readableArea, d.ram.allocContiguous(kReadableArea));
  VDEC_ASSIGN_OR_RETURN(d.writableArea, d.ram.allocContiguous(kWritableArea));

  FrontendOptions frontendOptions;
  frontendOptions.device = FrontendDevice::kMedia;
  frontendOptions.negotiateSharedObject = options.negotiateSharedObject;
  frontendOptions.negotiateEventIdx = options.eventIdx;
  frontendOptions.replyTimeout = options.commandTimeout;
  if (options.connectedSocket >= 0) {
    UniqueFd socket(::fcntl(options.connectedSocket, F_DUPFD_CLOEXEC, 0));
    if (!socket.isValid())
      return makeError(ErrorCode::kBackendFailure, "dup: {}", std::strerror(errno));
    d.frontend = VhostUserFrontend::adopt(
        std::move(socket), fmt::format("vdec-device on fd {}", options.connectedSocket),
        frontendOptions);
  } else {
    VDEC_ASSIGN_OR_RETURN(d.frontend,
                          VhostUserFrontend::connect(options.socketPath, frontendOptions));
  }
  std::vector<VringSetup> setups;
  for (const DriverVirtqueue* q : {&*d.command, &*d.event}) {
    setups.push_back({q->index(), q->size(), q->descGpa(), q->availGpa(), q->usedGpa(), q->kickFd(),
                      q->callFd(), d.errFds[q->index()].get()});
  }
  VDEC_TRY(d.frontend->realize(setups));
  if (UniqueFd channel = d.frontend->takeBackendChannel(); channel.isValid())
    VDEC_TRY(d.exporter->serve(std::move(channel)));
  d.config = d.frontend->mediaConfig();
  // Buffer ioctls carry up to eight descriptors: Linux puts them in an indirect table when
  // INDIRECT_DESC is negotiated, so chains of more than two go there.
  if (d.frontend->offeredFeatures() & (1ull << vhost::VIRTIO_RING_F_INDIRECT_DESC))
    d.command->setIndirectThreshold(2);
  // The notification scheme is fixed before the first buffer is posted, and must match what
  // start() acks: with EVENT_IDX acked the device signals only past used_event.
  const bool eventIdx =
      options.eventIdx && (d.frontend->offeredFeatures() & (1ull << vhost::VIRTIO_RING_F_EVENT_IDX));
  d.command->setEventIdx(eventIdx);
  d.event->setEventIdx(eventIdx);

  // The guest posts its event buffers at probe, before DRIVER_OK.
  const uint32_t slots = std::min(options.eventBuffers, d.event->size());
  VDEC_ASSIGN_OR_RETURN(GuestRange events, d.ram.allocContiguous(kEventSize * slots));
  for (uint32_t i = 0; i < slots; ++i)
    VDEC_TRY(d.postEvent({buffers::GuestAddress{events.address.value + kEventSize * i}, kEventSize}));
  d.event->kick();

  VDEC_TRY(d.frontend->start(d.ram, setups));
  d.features = d.frontend->ackedFeatures();
  logs::harness().info("connected to {}: virtio-media, device_caps {:#x}, features {:#x}",
                       d.frontend->name(), d.config.device_caps, d.features);
  return driver;
}

GuestRam& MediaDriver::ram() { return impl_->ram; }
ObjectExporter& MediaDriver::exporter() { return *impl_->exporter; }
const wire::virtio_media_config& MediaDriver::config() const { return impl_->config; }
uint64_t MediaDriver::negotiatedFeatures() const { return impl_->features; }

Result<MediaResponse> MediaDriver::execute(const MediaChain& chain) {
  Impl& d = *impl_;
  VDEC_TRY(d.usable());
  std::vector<GuestRange> readable;
  std::vector<GuestRange> writable;
  uint64_t offset = 0;
  for (const auto& segment : chain.readable) {
    if (segment.empty()) continue;
    if (offset + segment.size() > d.readableArea.length)
      return makeError(ErrorCode::kInvalidParameter, "command of more than {} readable bytes",
                       d.readableArea.length);
    const uint64_t gpa = d.readableArea.address.value + offset;
    std::memcpy(d.ram.at(gpa, segment.size()).data(), segment.data(), segment.size());
    readable.push_back({buffers::GuestAddress{gpa}, segment.size()});
    offset += segment.size();
  }
  offset = 0;
  for (size_t size : chain.writable) {
    if (size == 0) continue;
    if (offset + size > d.writableArea.length)
      return makeError(ErrorCode::kInvalidParameter, "command of more than {} writable bytes",
                       d.writableArea.length);
    const uint64_t gpa = d.writableArea.address.value + offset;
    std::memset(d.ram.at(gpa, size).data(), 0, size);
    writable.push_back({buffers::GuestAddress{gpa}, size});
    offset += size;
  }
  const uint64_t writableBytes = offset;
  if (readable.empty()) return makeError(ErrorCode::kInvalidParameter, "empty command");
  auto head = d.command->addChain(readable, writable);
  if (!head) return makeError(d.fail("commandq: " + head.error().message));
  d.inFlight = *head;
  d.completed.reset();
  d.command->kick();
  VDEC_ASSIGN_OR_RETURN(bool done, d.waitUntil([&d] { return d.completed.has_value(); },
                                                Clock::now() + d.options.commandTimeout));
  if (!done) {
    // The guest returns -ETIMEDOUT; the chain stays with the device, so its buffers cannot be
    // reused: the harness gives up on the connection.
    return makeError(d.fail(fmt::format("no response within {} ms (ETIMEDOUT)",
                                        d.options.commandTimeout.count())));
  }
  MediaResponse response;
  response.usedLen = d.completed->len;
  const size_t length = std::min<uint64_t>(response.usedLen, writableBytes);
  if (length > 0) {
    auto view = d.ram.at(d.writableArea.address.value, length);
    response.bytes.assign(view.begin(), view.end());
  }
  d.completed.reset();
  return response;
}

Result<uint32_t> MediaDriver::open() {
  MediaChain chain;
  chain.readable.push_back(toBytes(wire::virtio_media_cmd_open{{wire::VIRTIO_MEDIA_CMD_OPEN, 0}}));
  chain.writable.push_back(sizeof(wire::virtio_media_resp_open));
  VDEC_ASSIGN_OR_RETURN(auto response, execute(chain));
  VDEC_ASSIGN_OR_RETURN(auto header, readWire<wire::virtio_media_resp_header>(response.bytes));
  if (header.status != 0)
    return makeError(errorCodeForErrno(header.status), "OPEN: {}", errnoName(header.status));
  VDEC_ASSIGN_OR_RETURN(auto resp, readWire<wire::virtio_media_resp_open>(response.bytes));
  trackSession(resp.session_id);
  return resp.session_id;
}

Status MediaDriver::close(uint32_t sessionId) {
  impl_->sessions.erase(sessionId);
  MediaChain chain;
  chain.readable.push_back(
      toBytes(wire::virtio_media_cmd_close{{wire::VIRTIO_MEDIA_CMD_CLOSE, 0}, sessionId, 0}));
  VDEC_TRY(execute(chain));
  return okStatus();
}

void MediaDriver::trackSession(uint32_t sessionId) {
  Impl& d = *impl_;
  auto& queue = d.sessions[sessionId];
  for (auto it = d.unclaimed.begin(); it != d.unclaimed.end();) {
    if (it->sessionId == sessionId) {
      queue.push_back(std::move(*it));
      it = d.unclaimed.erase(it);
    } else {
      ++it;
    }
  }
}

Result<std::vector<MediaEvent>> MediaDriver::waitEvents(uint32_t sessionId,
                                                        std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  auto& queue = d.sessions[sessionId];
  auto waited = d.waitUntil([&queue] { return !queue.empty(); }, Clock::now() + timeout);
  // What arrived before the connection broke is still reported; the error comes next time.
  if (!waited && queue.empty()) return makeError(std::move(waited.error()));
  std::vector<MediaEvent> events(std::make_move_iterator(queue.begin()),
                                 std::make_move_iterator(queue.end()));
  queue.clear();
  return events;
}

void MediaDriver::disconnect() {
  if (impl_->frontend) impl_->frontend->close();
  impl_->fail("disconnected by the harness");
}

}  // namespace vdec::harness
