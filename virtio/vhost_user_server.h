// SPDX-License-Identifier: MIT
// VhostUserServer: a vhost-user back-end serving one VirtioDevice over a unix socket.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "buffers/guest_memory.h"
#include "vdec/base/result.h"
#include "vdec/base/unique_fd.h"
#include "virtio/backend_channel.h"
#include "virtio/vhost_user_message.h"
#include "virtio/virtio_device.h"
#include "virtio/virtqueue.h"

namespace vdec::virtio {

// Lifecycle: listen -> accept one front-end -> serve it (handshake, memory table, rings, kicks,
// device notifications) -> on disconnect drop everything (device.reset()) -> accept the next.
// A misbehaving front-end costs at most its connection; the loop only ends on stop(). Nothing a
// front-end sends blocks the loop for long: messages are read and replies written within
// kMessageTimeout (100 ms), kick and call fds are used non-blocking (frontend_fd.h), a
// back-end channel lookup waits at most BackendChannel::kLookupTimeout (200 ms) once.
// Other front-ends wait in the listen backlog (4) while one is served; that is logged.
//
// Thread: run() owns the calling thread; every device callback runs there. stop() may be called
// from any thread or a signal handler.
class VhostUserServer {
 public:
  // Binds and listens on socketPath (an existing socket file there is replaced).
  static Result<std::unique_ptr<VhostUserServer>> listen(const std::string& socketPath,
                                                         VirtioDevice& device);
  // Serves on an already listening socket (owned from now on).
  static Result<std::unique_ptr<VhostUserServer>> adopt(UniqueFd listenFd, VirtioDevice& device);
  // Serves one already connected front-end (QEMU's `--fd` convention: the VMM or libvirt made
  // the socket). Nothing else can connect, so run() returns once that front-end disconnects.
  static Result<std::unique_ptr<VhostUserServer>> adoptConnection(UniqueFd connection,
                                                                  VirtioDevice& device);
  ~VhostUserServer();
  VhostUserServer(const VhostUserServer&) = delete;
  VhostUserServer& operator=(const VhostUserServer&) = delete;

  // Runs the event loop until stop(). Fails only if the loop itself breaks (epoll, accept).
  Status run();
  // Async-signal-safe: makes run() return.
  void stop();

  // Transport feature bits offered in GET_FEATURES and GET_PROTOCOL_FEATURES.
  static constexpr uint64_t kTransportFeatures =
      (1ull << vhost::VIRTIO_F_VERSION_1) | (1ull << vhost::VIRTIO_RING_F_INDIRECT_DESC) |
      (1ull << vhost::VIRTIO_RING_F_EVENT_IDX) | (1ull << vhost::VHOST_USER_F_PROTOCOL_FEATURES);
  static constexpr uint64_t kProtocolFeatures =
      (1ull << vhost::VHOST_USER_PROTOCOL_F_MQ) | (1ull << vhost::VHOST_USER_PROTOCOL_F_REPLY_ACK) |
      (1ull << vhost::VHOST_USER_PROTOCOL_F_BACKEND_REQ) |
      (1ull << vhost::VHOST_USER_PROTOCOL_F_CONFIG) |
      (1ull << vhost::VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) |
      (1ull << vhost::VHOST_USER_PROTOCOL_F_RESET_DEVICE) |
      (1ull << vhost::VHOST_USER_PROTOCOL_F_SHARED_OBJECT) |
      (1ull << vhost::VHOST_USER_PROTOCOL_F_STATUS);

 private:
  struct Vring {
    uint16_t size = 0;
    std::optional<vhost::VhostUserVringAddr> addr;
    uint16_t base = 0;
    UniqueFd kick;
    uint32_t kickGeneration = 0;  // bumped when kick is replaced; part of its epoll tag
    UniqueFd call;
    UniqueFd err;
    bool started = false;
    bool enabled = false;
    std::optional<Virtqueue> queue;  // built when started and memory + addresses are known
  };
  // What a handler tells the dispatcher: reply body (sent as is) or a status for REPLY_ACK.
  struct Outcome {
    Status status;
    std::optional<std::vector<std::byte>> reply;
  };

  VhostUserServer(UniqueFd listenFd, UniqueFd stopFd, UniqueFd epollFd, VirtioDevice& device);

  Status acceptConnection();
  void dropConnection(const char* why);
  // false: the connection must be dropped.
  bool serveMessage();
  Outcome dispatch(VhostUserMessage& message);
  void onKick(uint32_t index, uint32_t generation, uint32_t events);
  void onDeviceNotify();

  Outcome setFeatures(const VhostUserMessage& message);
  Outcome setProtocolFeatures(const VhostUserMessage& message);
  Outcome setMemTable(VhostUserMessage& message);
  Outcome setVringNum(const VhostUserMessage& message);
  Outcome setVringAddr(const VhostUserMessage& message);
  Outcome setVringBase(const VhostUserMessage& message);
  Outcome getVringBase(const VhostUserMessage& message);
  Outcome setVringFd(VhostUserMessage& message);
  Outcome setVringEnable(const VhostUserMessage& message);
  Outcome getConfig(const VhostUserMessage& message);
  Outcome setBackendReqFd(VhostUserMessage& message);
  Outcome resetDevice();

  // The epoll tag of a vring's kick fd: kTagKick + index, the fd's generation in the high half
  // (vhost_user_server_vrings.cpp).
  static constexpr uint64_t kTagKick = 0x100;
  static uint64_t kickTag(uint32_t index, uint32_t generation);
  Result<Vring*> vringFor(uint64_t index);
  void stopVring(uint32_t index);
  void rebuildQueue(uint32_t index);
  void processQueue(uint32_t index);
  std::vector<Virtqueue*> queueTable();
  void updateResolver();
  Status watch(int fd, uint64_t tag, uint32_t extraEvents = 0, bool modify = false);
  void unwatch(int fd);

  UniqueFd listenFd_;
  UniqueFd stopFd_;
  UniqueFd epollFd_;
  VirtioDevice& device_;

  // Per connection; everything below is cleared by dropConnection().
  UniqueFd conn_;
  uint64_t ackedFeatures_ = 0;
  uint64_t protocolFeatures_ = 0;
  uint64_t status_ = 0;
  std::shared_ptr<const buffers::GuestMemory> memory_;
  std::vector<Vring> vrings_;
  std::unique_ptr<BackendChannel> backend_;
};

}  // namespace vdec::virtio
