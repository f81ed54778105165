// SPDX-License-Identifier: MIT
// ScriptedBackend: a minimal vhost-user back-end on a thread that records what it receives.
#pragma once

#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "samples/harness/vhost_user_message.h"
#include "vdec/base/unique_fd.h"
#include "vdec/protocol/virtio_video.h"
#include "virtio/vhost_user_protocol.h"

namespace vdec::harness::testing {

struct BackendScript {
  uint64_t features =
      (1ull << 32) | (1ull << 30) | (1ull << 28) | 0x7;  // VERSION_1, 30, INDIRECT, 0-2
  uint64_t protocolFeatures = 0x42629 | (1ull << 16);    // QEMU-observed set + STATUS
  uint64_t queueNum = 2;
  wire::virtio_video_config config{0, 4096, 4096, {'s', 'c', 'r', 'i', 'p', 't'}};
  uint32_t refuseRequest = 0;    // answer this request's ack with 1
  uint32_t badFlagsRequest = 0;  // answer this request with flags 0x1
};

struct SeenMessage {
  uint32_t request = 0;
  uint32_t flags = 0;
  std::vector<std::byte> payload;
  std::vector<UniqueFd> fds;
};

// Serves `socket` until the peer closes it; answers GET_* from the script and every NEED_REPLY.
class ScriptedBackend {
 public:
  ScriptedBackend(UniqueFd socket, BackendScript script);
  ~ScriptedBackend();
  // Waits for the thread (the front-end must have closed its end).
  std::vector<SeenMessage> join();

 private:
  void run();
  UniqueFd socket_;
  BackendScript script_;
  std::vector<SeenMessage> seen_;
  std::thread thread_;
};

}  // namespace vdec::harness::testing
