// SPDX-License-Identifier: MIT
// VideoDriver: VMM start-up plus the ChromeOS virtio-video guest driver's command path (the
// typed commands are in video_driver_commands.cpp).
#include "samples/harness/video_driver.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include "samples/harness/driver_virtqueue.h"
#include "samples/harness/object_exporter.h"
#include "samples/harness/vhost_user_frontend.h"
#include "samples/harness/video_driver_impl.h"
#include "vdec/base/logging.h"
#include "vdec/base/wire.h"

namespace vdec::harness {
namespace {

using Clock = std::chrono::steady_clock;
using buffers::GuestRange;

constexpr uint64_t kPageSize = 4096;
const char* commandName(uint32_t type) {
  switch (type) {
    case wire::VIRTIO_VIDEO_CMD_QUERY_CAPABILITY:
      return "QUERY_CAPABILITY";
    case wire::VIRTIO_VIDEO_CMD_STREAM_CREATE:
      return "STREAM_CREATE";
    case wire::VIRTIO_VIDEO_CMD_STREAM_DESTROY:
      return "STREAM_DESTROY";
    case wire::VIRTIO_VIDEO_CMD_STREAM_DRAIN:
      return "STREAM_DRAIN";
    case wire::VIRTIO_VIDEO_CMD_RESOURCE_CREATE:
      return "RESOURCE_CREATE";
    case wire::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE:
      return "RESOURCE_QUEUE";
    case wire::VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL:
      return "RESOURCE_DESTROY_ALL";
    case wire::VIRTIO_VIDEO_CMD_QUEUE_CLEAR:
      return "QUEUE_CLEAR";
    case wire::VIRTIO_VIDEO_CMD_GET_PARAMS:
      return "GET_PARAMS";
    case wire::VIRTIO_VIDEO_CMD_SET_PARAMS:
      return "SET_PARAMS";
    case wire::VIRTIO_VIDEO_CMD_QUERY_CONTROL:
      return "QUERY_CONTROL";
    case wire::VIRTIO_VIDEO_CMD_GET_CONTROL:
      return "GET_CONTROL";
    case wire::VIRTIO_VIDEO_CMD_SET_CONTROL:
      return "SET_CONTROL";
    case wire::VIRTIO_VIDEO_CMD_GET_PARAMS_EXT:
      return "GET_PARAMS_EXT";
    case wire::VIRTIO_VIDEO_CMD_SET_PARAMS_EXT:
      return "SET_PARAMS_EXT";
    default:
      return "command";
  }
}

std::optional<ErrorCode> errorCodeOfResponse(uint32_t type) {
  switch (type) {
    case wire::VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION:
      return ErrorCode::kInvalidOperation;
    case wire::VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY:
      return ErrorCode::kOutOfMemory;
    case wire::VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID:
      return ErrorCode::kInvalidStreamId;
    case wire::VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID:
      return ErrorCode::kInvalidResourceId;
    case wire::VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER:
      return ErrorCode::kInvalidParameter;
    case wire::VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL:
      return ErrorCode::kUnsupported;
    default:
      return std::nullopt;
  }
}

}  // namespace

Result<GuestRange> VideoDriver::Impl::allocBuffer(size_t bytes) {
  if (bytes <= kPageSize) {
    if (!pagePool.empty()) {
      GuestRange range = pagePool.back();
      pagePool.pop_back();
      return range;
    }
    return ram.allocContiguous(kPageSize);
  }
  return ram.allocContiguous(bytes);
}

void VideoDriver::Impl::releaseBuffer(const GuestRange& range) {
  if (range.length == kPageSize) {
    pagePool.push_back(range);
  } else {
    ram.free(range);
  }
}

Error VideoDriver::Impl::fail(std::string reason) {
  if (failure.empty()) failure = std::move(reason);
  return Error{ErrorCode::kBackendFailure, failure};
}

Status VideoDriver::Impl::usable() const {
  if (!failure.empty()) return makeError(ErrorCode::kBackendFailure, "{}", failure);
  return okStatus();
}

Result<uint16_t> VideoDriver::Impl::submit(Pending meta, std::span<const std::byte> request,
                                           std::span<const std::byte> extra,
                                           size_t responseCapacity) {
  VDEC_TRY(usable());
  std::vector<GuestRange> readable;
  VDEC_ASSIGN_OR_RETURN(GuestRange requestBuffer, allocBuffer(request.size()));
  ram.write({requestBuffer}, 0, request);
  meta.buffers.push_back(requestBuffer);
  readable.push_back({requestBuffer.address, request.size()});
  if (!extra.empty()) {
    auto extraBuffer = allocBuffer(extra.size());
    if (!extraBuffer) {
      for (const auto& b : meta.buffers) releaseBuffer(b);
      return makeError(std::move(extraBuffer.error()));
    }
    ram.write({*extraBuffer}, 0, extra);
    meta.buffers.push_back(*extraBuffer);
    readable.push_back({extraBuffer->address, extra.size()});
  }
  auto responseBuffer = allocBuffer(responseCapacity);
  if (!responseBuffer) {
    for (const auto& b : meta.buffers) releaseBuffer(b);
    return makeError(std::move(responseBuffer.error()));
  }
  std::memset(ram.at(responseBuffer->address.value, responseCapacity).data(), 0, responseCapacity);
  meta.buffers.push_back(*responseBuffer);
  meta.response = {responseBuffer->address, responseCapacity};
  const GuestRange writable[] = {meta.response};

  // A full ring: the guest sleeps until a descriptor is freed (here: up to commandTimeout).
  const auto deadline = Clock::now() + options.commandTimeout;
  for (;;) {
    auto head = control->addChain(readable, writable);
    if (head) {
      control->kick();
      pending.emplace(*head, std::move(meta));
      return *head;
    }
    if (head.error().code != ErrorCode::kOutOfMemory) {
      for (const auto& b : meta.buffers) releaseBuffer(b);
      return makeError(std::move(head.error()));
    }
    const uint32_t inFlight = control->inFlight();
    auto freed = waitUntil([&] { return control->inFlight() < inFlight; }, deadline);
    if (!freed || !*freed) {
      for (const auto& b : meta.buffers) releaseBuffer(b);
      if (!freed) return makeError(std::move(freed.error()));
      return makeError(ErrorCode::kBackendFailure, "{}: control queue full for {} ms",
                       commandName(meta.type), options.commandTimeout.count());
    }
  }
}

Status VideoDriver::Impl::handleControl(const UsedElem& used) {
  auto it = pending.find(used.head);
  if (it == pending.end()) {
    return makeError(
        fail(fmt::format("control queue returned head {} with no command", used.head)));
  }
  Pending meta = std::move(it->second);
  pending.erase(it);
  auto view = ram.at(meta.response.address.value, meta.response.length);
  std::vector<std::byte> response(view.begin(), view.end());
  for (const auto& b : meta.buffers) releaseBuffer(b);
  if (meta.abandoned) return okStatus();

  const auto header = readWire<wire::virtio_video_cmd_hdr>(response);
  const uint32_t responseType = header ? header->type : 0;
  if (meta.type == wire::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE && meta.async) {
    wire::virtio_video_resource_queue_resp resp{};
    std::memcpy(&resp, response.data(), std::min(response.size(), sizeof(resp)));
    activity.queues.push_back({meta.streamId, meta.queueType, meta.resourceId, resp.timestamp,
                               resp.flags, resp.size, responseType});
    return okStatus();
  }
  if (meta.type == wire::VIRTIO_VIDEO_CMD_STREAM_DRAIN && meta.async) {
    activity.drainsDone.push_back(meta.streamId);
    activity.drainResponseTypes.push_back(responseType);
    return okStatus();
  }
  Done result;
  result.usedLen = used.len;
  result.response = std::move(response);
  if (meta.type == wire::VIRTIO_VIDEO_CMD_QUEUE_CLEAR) {
    for (const auto& [head, other] : pending) {
      if (other.type == wire::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE && !other.abandoned &&
          other.streamId == meta.streamId && other.queueType == meta.queueType) {
        ++result.queuedAhead;
      }
    }
  }
  done.emplace(used.head, std::move(result));
  return okStatus();
}

Status VideoDriver::Impl::handleEvent(const UsedElem& used) {
  auto it = eventBuffers.find(used.head);
  if (it == eventBuffers.end()) {
    return makeError(fail(fmt::format("event queue returned head {} with no buffer", used.head)));
  }
  const GuestRange buffer = it->second;
  eventBuffers.erase(it);
  wire::virtio_video_event ev{};
  std::memcpy(&ev, ram.at(buffer.address.value, sizeof(ev)).data(), sizeof(ev));
  activity.events.push_back(ev);
  // Re-post the buffer, as the guest's event work does once it handled the event.
  std::memset(ram.at(buffer.address.value, buffer.length).data(), 0, buffer.length);
  const GuestRange writable[] = {buffer};
  auto head = event->addChain({}, writable);
  if (!head)
    return makeError(fail(fmt::format("re-posting an event buffer: {}", head.error().message)));
  eventBuffers.emplace(*head, buffer);
  return okStatus();
}

Status VideoDriver::Impl::drainQueues() {
  control->clearCall();
  event->clearCall();
  for (;;) {
    auto used = control->popUsed();
    if (!used) return makeError(fail(used.error().message));
    if (!*used) break;
    VDEC_TRY(handleControl(**used));
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

Result<bool> VideoDriver::Impl::waitUntil(const std::function<bool()>& ready,
                                          Clock::time_point deadline) {
  for (;;) {
    VDEC_TRY(usable());
    VDEC_TRY(drainQueues());
    if (ready()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    const auto remaining = std::min<int64_t>(
        std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count(), 3600 * 1000);
    pollfd fds[3] = {{control->callFd(), POLLIN, 0},
                     {event->callFd(), POLLIN, 0},
                     {frontend->socket(), POLLRDHUP, 0}};
    int rc = ::poll(fds, 3, static_cast<int>(remaining));
    if (rc < 0 && errno != EINTR) {
      return makeError(fail(fmt::format("poll: {}", std::strerror(errno))));
    }
    if (rc > 0 && (fds[2].revents & (POLLHUP | POLLERR | POLLRDHUP))) {
      VDEC_TRY(drainQueues());  // what the device completed before it went away still counts
      if (ready()) return true;
      return makeError(fail(fmt::format("{} closed the connection", frontend->name())));
    }
  }
}

Result<VideoDriver::Impl::Done> VideoDriver::Impl::execute(Pending meta,
                                                           std::span<const std::byte> request,
                                                           std::span<const std::byte> extra,
                                                           size_t responseCapacity) {
  const uint32_t type = meta.type;
  const uint32_t streamId = meta.streamId;
  VDEC_ASSIGN_OR_RETURN(uint16_t head, submit(std::move(meta), request, extra, responseCapacity));
  const auto deadline = Clock::now() + options.commandTimeout;
  VDEC_ASSIGN_OR_RETURN(bool completed, waitUntil([&] { return done.count(head) != 0; }, deadline));
  if (!completed) {
    pending.at(head).abandoned = true;
    return makeError(ErrorCode::kBackendFailure, "{} (stream {}): no response within {} ms",
                     commandName(type), streamId, options.commandTimeout.count());
  }
  Done result = std::move(done.at(head));
  done.erase(head);
  return result;
}

Result<VideoDriver::Impl::Done> VideoDriver::Impl::command(Pending meta,
                                                           std::span<const std::byte> request,
                                                           std::span<const std::byte> extra,
                                                           size_t responseCapacity,
                                                           uint32_t expectedType) {
  const uint32_t type = meta.type;
  const uint32_t streamId = meta.streamId;
  VDEC_ASSIGN_OR_RETURN(Done result, execute(std::move(meta), request, extra, responseCapacity));
  VDEC_ASSIGN_OR_RETURN(auto header, readWire<wire::virtio_video_cmd_hdr>(result.response));
  if (auto code = errorCodeOfResponse(header.type)) {
    return makeError(*code, "{} (stream {}): device answered {:#x} ({})", commandName(type),
                     streamId, header.type, errorCodeName(*code));
  }
  if (header.type != expectedType) {
    return makeError(ErrorCode::kBackendFailure,
                     "{} (stream {}): device answered type {:#x}, expected {:#x}",
                     commandName(type), streamId, header.type, expectedType);
  }
  if (result.queuedAhead != 0) {
    return makeError(ErrorCode::kBackendFailure,
                     "QUEUE_CLEAR (stream {}): answered with {} RESOURCE_QUEUEs still pending",
                     streamId, result.queuedAhead);
  }
  return result;
}

VideoDriver::VideoDriver() : impl_(std::make_unique<Impl>()) {}
VideoDriver::~VideoDriver() = default;

Result<std::unique_ptr<VideoDriver>> VideoDriver::connect(const DriverOptions& options) {
  std::unique_ptr<VideoDriver> driver(new VideoDriver());
  Impl& d = *driver->impl_;
  d.options = options;
  VDEC_ASSIGN_OR_RETURN(d.ram, GuestRam::create(options.ramBytes));
  VDEC_ASSIGN_OR_RETURN(d.exporter, ObjectExporter::create());
  VDEC_ASSIGN_OR_RETURN(auto control, DriverVirtqueue::create(d.ram, 0, options.commandQueueSize));
  d.control.emplace(std::move(control));
  VDEC_ASSIGN_OR_RETURN(auto event, DriverVirtqueue::create(d.ram, 1, options.eventQueueSize));
  d.event.emplace(std::move(event));
  for (auto& fd : d.errFds) {
    fd = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd.isValid()) {
      return makeError(ErrorCode::kBackendFailure, "eventfd: {}", std::strerror(errno));
    }
  }

  FrontendOptions frontendOptions;
  frontendOptions.negotiateSharedObject = options.negotiateSharedObject;
  frontendOptions.negotiateEventIdx = options.eventIdx;
  frontendOptions.replyTimeout = options.commandTimeout;
  if (options.connectedSocket >= 0) {
    UniqueFd socket(::fcntl(options.connectedSocket, F_DUPFD_CLOEXEC, 0));
    if (!socket.isValid()) {
      return makeError(ErrorCode::kBackendFailure, "dup: {}", std::strerror(errno));
    }
    d.frontend = VhostUserFrontend::adopt(
        std::move(socket), fmt::format("vdec-device on fd {}", options.connectedSocket),
        frontendOptions);
  } else {
    VDEC_ASSIGN_OR_RETURN(d.frontend,
                          VhostUserFrontend::connect(options.socketPath, frontendOptions));
  }
  std::vector<VringSetup> setups;
  for (const DriverVirtqueue* q : {&*d.control, &*d.event}) {
    setups.push_back({q->index(), q->size(), q->descGpa(), q->availGpa(), q->usedGpa(), q->kickFd(),
                      q->callFd(), d.errFds[q->index()].get()});
  }
  VDEC_TRY(d.frontend->realize(setups));
  if (UniqueFd channel = d.frontend->takeBackendChannel(); channel.isValid()) {
    VDEC_TRY(d.exporter->serve(std::move(channel)));
  }
  d.config = d.frontend->config();
  // Linux puts chains with several descriptors in an indirect table when INDIRECT_DESC is
  // negotiated; the harness does so for chains of three (RESOURCE_CREATE), so both the direct
  // and the indirect path of the device are exercised.
  if (d.frontend->offeredFeatures() & (1ull << vhost::VIRTIO_RING_F_INDIRECT_DESC)) {
    d.control->setIndirectThreshold(2);
  }
  // The ring's notification scheme is fixed before the first buffer is posted (Linux: at
  // find_vqs, after feature negotiation); start() acks exactly this.
  const bool eventIdx = options.eventIdx &&
                        (d.frontend->offeredFeatures() & (1ull << vhost::VIRTIO_RING_F_EVENT_IDX));
  d.control->setEventIdx(eventIdx);
  d.event->setEventIdx(eventIdx);

  // The guest posts every event buffer before DRIVER_OK (virtio_video_alloc_events).
  const uint32_t eventSlots = d.event->size();
  VDEC_ASSIGN_OR_RETURN(GuestRange events, d.ram.allocContiguous(8ull * eventSlots));
  std::memset(d.ram.at(events.address.value, events.length).data(), 0, events.length);
  for (uint32_t i = 0; i < eventSlots; ++i) {
    const GuestRange slot{buffers::GuestAddress{events.address.value + 8ull * i},
                          sizeof(wire::virtio_video_event)};
    const GuestRange writable[] = {slot};
    VDEC_ASSIGN_OR_RETURN(uint16_t head, d.event->addChain({}, writable));
    d.eventBuffers.emplace(head, slot);
  }
  d.event->kick();

  VDEC_TRY(d.frontend->start(d.ram, setups));
  d.features = d.frontend->ackedFeatures();
  logs::harness().info("connected to {}: features {:#x}, max_caps_length {}", d.frontend->name(),
                       d.features, d.config.max_caps_length);
  return driver;
}

GuestRam& VideoDriver::ram() { return impl_->ram; }
ObjectExporter& VideoDriver::exporter() { return *impl_->exporter; }
const wire::virtio_video_config& VideoDriver::config() const { return impl_->config; }
uint64_t VideoDriver::negotiatedFeatures() const { return impl_->features; }

NotificationCounts VideoDriver::notifications() const {
  NotificationCounts counts;
  for (const auto* queue : {&impl_->control, &impl_->event}) {
    if (!*queue) continue;
    counts.kicks += (*queue)->kicks();
    counts.calls += (*queue)->calls();
  }
  return counts;
}

Result<Activity> VideoDriver::waitActivity(std::chrono::milliseconds timeout) {
  auto waited =
      impl_->waitUntil([this] { return !impl_->activity.empty(); }, Clock::now() + timeout);
  // What completed before the connection broke is still reported; the error comes next time.
  if (!waited && impl_->activity.empty()) return makeError(std::move(waited.error()));
  return std::exchange(impl_->activity, Activity{});
}

void VideoDriver::disconnect() {
  if (impl_->frontend) impl_->frontend->close();
  impl_->fail("disconnected by the harness");
}

}  // namespace vdec::harness
