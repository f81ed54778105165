// SPDX-License-Identifier: MIT
// VhostUserFrontend: the harness's VMM side of vhost-user, sending what QEMU 10.2 sends.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "samples/harness/guest_ram.h"
#include "samples/harness/vhost_user_message.h"
#include "vdec/base/result.h"
#include "vdec/base/unique_fd.h"
#include "vdec/protocol/virtio_media.h"
#include "vdec/protocol/virtio_video.h"

namespace vdec::harness {

// The device type behind the socket: decides the config space read at realize().
enum class FrontendDevice {
  kVideo,  // virtio-video: virtio_video_config (44 bytes), both max lengths > 0
  kMedia,  // virtio-media: virtio_media_config (40 bytes)
};

struct FrontendOptions {
  FrontendDevice device = FrontendDevice::kVideo;
  bool negotiateSharedObject = true;  // include SHARED_OBJECT in SET_PROTOCOL_FEATURES
  bool negotiateEventIdx = true;      // ack VIRTIO_RING_F_EVENT_IDX when offered
  // With REPLY_ACK: NEED_REPLY on every SET_* message (QEMU sets it on a subset; the protocol
  // requires a back-end to answer it on any message).
  bool needReplyOnAllSets = true;
  std::chrono::milliseconds replyTimeout{5000};
};

// One virtqueue as the front-end hands it to the back-end. Addresses are guest-physical; the
// front-end translates them to its own user addresses for SET_VRING_ADDR, like QEMU.
struct VringSetup {
  uint32_t index = 0;
  uint32_t size = 0;
  uint64_t descGpa = 0;
  uint64_t availGpa = 0;
  uint64_t usedGpa = 0;
  int kickFd = -1;  // borrowed; sent with SCM_RIGHTS (the back-end gets a duplicate)
  int callFd = -1;  // borrowed
  int errFd = -1;   // borrowed; -1: no SET_VRING_ERR
};

// Lifecycle: connect() -> realize() (QEMU's vhost_dev_init, plus the guest's config read) ->
// start() (QEMU's vhost_dev_start at DRIVER_OK) -> close(). Every step is synchronous.
// Errors name the socket and the refused message. Threads: single-threaded.
class VhostUserFrontend {
 public:
  // Connects to the back-end's listening socket, retrying while it does not exist or refuses
  // (the daemon may still be starting) for up to `retryFor`.
  static Result<std::unique_ptr<VhostUserFrontend>> connect(
      const std::string& socketPath, const FrontendOptions& options,
      std::chrono::milliseconds retryFor = std::chrono::milliseconds(5000));
  // Uses an already connected socket (tests: one end of a socketpair).
  static std::unique_ptr<VhostUserFrontend> adopt(UniqueFd socket, std::string name,
                                                  const FrontendOptions& options);

  // GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM (MQ),
  // SET_BACKEND_REQ_FD (BACKEND_REQ), SET_OWNER, GET_FEATURES, then SET_VRING_CALL (+ERR) per
  // queue, then GET_CONFIG (as the guest's probe reads it). Needs VERSION_1, bit 30 and CONFIG.
  Status realize(std::span<const VringSetup> queues);
  // SET_FEATURES (VERSION_1, offered device bits 0-2, INDIRECT_DESC if offered, EVENT_IDX if
  // offered and options.negotiateEventIdx, bit 30),
  // SET_MEM_TABLE (one region: ram), per queue SET_VRING_NUM, SET_VRING_BASE(0),
  // SET_VRING_ADDR, SET_VRING_KICK; then SET_VRING_ENABLE(1) per queue.
  Status start(const GuestRam& ram, std::span<const VringSetup> queues);

  // Our end of the SET_BACKEND_REQ_FD socketpair; invalid if BACKEND_REQ was not negotiated or
  // it was taken already. The caller serves it (ObjectExporter).
  UniqueFd takeBackendChannel();

  uint64_t offeredFeatures() const { return offeredFeatures_; }
  uint64_t ackedFeatures() const { return ackedFeatures_; }
  uint64_t protocolFeatures() const { return protocolFeatures_; }
  uint64_t queueCount() const { return queueCount_; }
  const wire::virtio_video_config& config() const { return config_; }       // kVideo
  const wire::virtio_media_config& mediaConfig() const { return mediaConfig_; }  // kMedia
  int socket() const { return socket_.get(); }
  const std::string& name() const { return name_; }

  // One request; with needReply (and REPLY_ACK negotiated) waits for and checks the u64 ack.
  Status sendRequest(uint32_t request, std::span<const std::byte> payload,
                     std::span<const int> fds = {}, bool wantAck = true);
  // A request whose reply carries a body (GET_*): sends and returns the checked reply.
  Result<VhostUserMessage> query(uint32_t request, std::span<const std::byte> payload = {});

  // Shuts the socket down and closes it at once (a VMM crash, as the back-end sees it).
  void close();

 private:
  VhostUserFrontend(UniqueFd socket, std::string name, const FrontendOptions& options);
  Result<VhostUserMessage> receiveReply(uint32_t request);
  Status negotiateProtocol();
  Status readConfig();

  UniqueFd socket_;
  std::string name_;  // "vdec-device at PATH", for error messages
  FrontendOptions options_;
  UniqueFd backendChannel_;
  uint64_t offeredFeatures_ = 0;
  uint64_t ackedFeatures_ = 0;
  uint64_t protocolFeatures_ = 0;
  uint64_t queueCount_ = 0;
  wire::virtio_video_config config_{};
  wire::virtio_media_config mediaConfig_{};
};

}  // namespace vdec::harness
