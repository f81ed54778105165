// SPDX-License-Identifier: MIT
// ObjectExporter: memfd/udmabuf objects with v4 UUIDs, and the back-end channel server.
#include "samples/harness/object_exporter.h"

#include <fcntl.h>
#include <linux/udmabuf.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "samples/harness/vhost_user_message.h"
#include "vdec/base/logging.h"
#include "vdec/base/wire.h"
#include "virtio/vhost_user_protocol.h"

namespace vdec::harness {
namespace {

using namespace vhost;  // NOLINT(google-build-using-namespace): protocol ids

constexpr uint64_t kPageSize = 4096;

Result<Uuid> randomUuid() {
  Uuid uuid;
  if (::getrandom(uuid.data(), uuid.size(), 0) != static_cast<ssize_t>(uuid.size())) {
    return makeError(ErrorCode::kBackendFailure, "getrandom: {}", std::strerror(errno));
  }
  uuid[6] = static_cast<uint8_t>((uuid[6] & 0x0f) | 0x40);  // version 4
  uuid[8] = static_cast<uint8_t>((uuid[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return uuid;
}

}  // namespace

Result<std::unique_ptr<ObjectExporter>> ObjectExporter::create() {
  std::unique_ptr<ObjectExporter> exporter(new ObjectExporter());
  exporter->wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!exporter->wake_.isValid()) {
    return makeError(ErrorCode::kBackendFailure, "eventfd: {}", std::strerror(errno));
  }
  exporter->udmabuf_ = UniqueFd(::open("/dev/udmabuf", O_RDWR | O_CLOEXEC));
  logs::harness().debug("object exporter: {}", exporter->udmabuf_.isValid()
                                                   ? "dma-bufs from /dev/udmabuf"
                                                   : "memfds (/dev/udmabuf not available)");
  return exporter;
}

ObjectExporter::~ObjectExporter() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    ssize_t n = ::write(wake_.get(), &one, sizeof(one));
    (void)n;
    thread_.join();
  }
}

Result<ExportedObject> ObjectExporter::allocate(uint64_t bytes) {
  return allocateObject(bytes, true);
}

Result<ExportedObject> ObjectExporter::allocateUnsealable(uint64_t bytes) {
  return allocateObject(bytes, false);
}

bool ObjectExporter::truncate(const Uuid& uuid, uint64_t bytes) {
  std::lock_guard lock(mutex_);
  auto it = objects_.find(uuid);
  return it != objects_.end() &&
         ::ftruncate(it->second.memfd.get(), static_cast<off_t>(bytes)) == 0;
}

Result<ExportedObject> ObjectExporter::allocateObject(uint64_t bytes, bool sealable) {
  if (bytes == 0) return makeError(ErrorCode::kInvalidParameter, "exported object of 0 bytes");
  const uint64_t size = alignUp(bytes, kPageSize);
  Object object;
  object.memfd = UniqueFd(
      ::memfd_create("vdec-harness-object", MFD_CLOEXEC | (sealable ? MFD_ALLOW_SEALING : 0)));
  if (!object.memfd.isValid()) {
    return makeError(ErrorCode::kBackendFailure, "memfd_create: {}", std::strerror(errno));
  }
  if (::ftruncate(object.memfd.get(), static_cast<off_t>(size)) != 0) {
    return makeError(ErrorCode::kOutOfMemory, "ftruncate object to {} bytes: {}", size,
                     std::strerror(errno));
  }
  // The device refuses a memfd that could shrink under its mapping; udmabuf requires
  // F_SEAL_SHRINK too (and refuses F_SEAL_WRITE).
  if (sealable && ::fcntl(object.memfd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
    return makeError(ErrorCode::kBackendFailure, "sealing object memfd: {}", std::strerror(errno));
  }
  if (sealable && udmabuf_.isValid()) {
    udmabuf_create create{};
    create.memfd = static_cast<uint32_t>(object.memfd.get());
    create.flags = UDMABUF_FLAGS_CLOEXEC;
    create.offset = 0;
    create.size = size;
    object.exported = UniqueFd(::ioctl(udmabuf_.get(), UDMABUF_CREATE, &create));
    if (!object.exported.isValid()) {
      logs::harness().warn("UDMABUF_CREATE of {} bytes failed ({}), exporting a memfd", size,
                           std::strerror(errno));
    }
  }
  VDEC_ASSIGN_OR_RETURN(object.mapping, MappedRegion::map(object.memfd.get(), size, 0));
  VDEC_ASSIGN_OR_RETURN(Uuid uuid, randomUuid());

  ExportedObject out;
  out.uuid = uuid;
  out.size = size;
  out.bytes = object.mapping.bytes();
  out.isDmaBuf = object.exported.isValid();
  out.fd = out.isDmaBuf ? object.exported.get() : object.memfd.get();
  std::lock_guard lock(mutex_);
  objects_.emplace(uuid, std::move(object));
  return out;
}

bool ObjectExporter::release(const Uuid& uuid) {
  std::lock_guard lock(mutex_);
  return objects_.erase(uuid) != 0;
}

Status ObjectExporter::serve(UniqueFd channel) {
  if (thread_.joinable()) {
    return makeError(ErrorCode::kInvalidOperation, "exporter already serves a channel");
  }
  if (!channel.isValid()) return makeError(ErrorCode::kInvalidParameter, "no back-end channel");
  channel_ = std::move(channel);
  thread_ = std::thread([this] { run(); });
  return okStatus();
}

void ObjectExporter::run() {
  for (;;) {
    pollfd fds[2] = {{channel_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    int rc = ::poll(fds, 2, -1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 || (fds[1].revents & POLLIN)) break;
    if (fds[0].revents != 0 && !handleOne()) break;
  }
  channel_.reset();
}

bool ObjectExporter::handleOne() {
  auto message = receiveVhostUserMessage(channel_.get(), std::chrono::milliseconds(1000));
  if (!message) {
    logs::harness().debug("back-end channel: {}", message.error().message);
    return false;
  }
  const uint32_t request = message->header.request;
  const uint32_t replyFlags = VHOST_USER_REPLY_MASK | VHOST_USER_VERSION;
  if (request == VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP) {
    lookups_.fetch_add(1);
    if (mode_.load() == LookupMode::kSilent) return true;
    auto shared = readWire<VhostUserShared>(message->payload);
    Uuid uuid{};
    if (shared) std::memcpy(uuid.data(), shared->uuid, uuid.size());
    // Held while sending, so that release() cannot close the fd under sendmsg.
    std::lock_guard lock(mutex_);
    auto it = shared && message->payload.size() == sizeof(VhostUserShared) ? objects_.find(uuid)
                                                                           : objects_.end();
    const uint64_t result = it == objects_.end() ? 1 : 0;
    int fd = -1;
    if (it != objects_.end() && mode_.load() == LookupMode::kCorrect) {
      fd = it->second.exported.isValid() ? it->second.exported.get() : it->second.memfd.get();
    }
    std::span<const int> fds = fd >= 0 ? std::span<const int>(&fd, 1) : std::span<const int>();
    auto sent = sendVhostUserMessage(channel_.get(), request, replyFlags,
                                     std::as_bytes(std::span(&result, 1)), fds);
    if (!sent) {
      logs::harness().warn("back-end channel: LOOKUP reply: {}", sent.error().message);
      return false;
    }
    return true;
  }
  logs::harness().debug("back-end channel: unsupported request {}", request);
  if (message->header.flags & VHOST_USER_NEED_REPLY_MASK) {
    const uint64_t failure = 1;
    auto sent = sendVhostUserMessage(channel_.get(), request, replyFlags,
                                     std::as_bytes(std::span(&failure, 1)));
    if (!sent) return false;
  }
  return true;
}

}  // namespace vdec::harness
