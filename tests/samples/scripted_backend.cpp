// SPDX-License-Identifier: MIT
#include "tests/samples/scripted_backend.h"

#include <sys/socket.h>

#include <cstring>

#include "vdec/base/wire.h"

namespace vdec::harness::testing {

using namespace vhost;  // NOLINT(google-build-using-namespace)

ScriptedBackend::ScriptedBackend(UniqueFd socket, BackendScript script)
    : socket_(std::move(socket)), script_(script), thread_([this] { run(); }) {}

ScriptedBackend::~ScriptedBackend() {
  if (thread_.joinable()) {
    ::shutdown(socket_.get(), SHUT_RDWR);
    thread_.join();
  }
}

std::vector<SeenMessage> ScriptedBackend::join() {
  thread_.join();
  return std::move(seen_);
}

void ScriptedBackend::run() {
  for (;;) {
    auto message = receiveVhostUserMessage(socket_.get(), std::chrono::milliseconds(10000));
    if (!message) return;
    const uint32_t request = message->header.request;
    const uint32_t flags = request == script_.badFlagsRequest ? 0x1u : 0x5u;
    std::vector<std::byte> reply;
    switch (request) {
      case VHOST_USER_GET_FEATURES:
        reply = toBytes(script_.features);
        break;
      case VHOST_USER_GET_PROTOCOL_FEATURES:
        reply = toBytes(script_.protocolFeatures);
        break;
      case VHOST_USER_GET_QUEUE_NUM:
        reply = toBytes(script_.queueNum);
        break;
      case VHOST_USER_GET_CONFIG: {
        auto header = readWire<VhostUserConfigHeader>(message->payload);
        reply = message->payload;
        if (header && header->offset == 0 && header->size == sizeof(script_.config) &&
            reply.size() == sizeof(*header) + sizeof(script_.config)) {
          std::memcpy(reply.data() + sizeof(*header), &script_.config, sizeof(script_.config));
        }
        break;
      }
      default:
        if (message->header.flags & VHOST_USER_NEED_REPLY_MASK) {
          reply = toBytes<uint64_t>(request == script_.refuseRequest ? 1 : 0);
        }
    }
    SeenMessage seen{request, message->header.flags, std::move(message->payload),
                     std::move(message->fds)};
    seen_.push_back(std::move(seen));
    if (!reply.empty() && !sendVhostUserMessage(socket_.get(), request, flags, reply)) {
      return;
    }
  }
}

}  // namespace vdec::harness::testing
