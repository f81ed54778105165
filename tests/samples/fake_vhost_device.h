// SPDX-License-Identifier: MIT
// FakeVhostDevice: the vhost-user back-end plumbing shared by the in-process test devices
// (FakeMediaDevice, FakeVideoDevice): socket, serving thread, handshake, guest RAM and vrings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "tests/samples/test_ring_device.h"
#include "vdec/base/unique_fd.h"

namespace vdec::harness::testing {

// Listens on `socketPath` (unlinked first, and again on destruction); serves one connection on a
// thread until stop() or until the front-end goes away or sends something it cannot follow. The
// handshake: GET_FEATURES answers `features`, GET_PROTOCOL_FEATURES 0x42629 (REPLY_ACK, CONFIG,
// MQ, BACKEND_REQ, ...), GET_QUEUE_NUM 2, GET_CONFIG writes `config` at offset 12 of the echoed
// payload when that is exactly 12 + its size; NEED_REPLY gets a 0 ack. Guest RAM is the first
// SET_MEM_TABLE region; queue 0 (commands) and queue 1 (events) start as split rings at
// SET_VRING_ENABLE. Each loop turn reads the socket, then queue 1's kick, then queue 0's.
// The hooks and the guest-side helpers below run on the serving thread only.
class FakeVhostDevice {
 public:
  struct Device {
    uint64_t features = 0;
    std::vector<std::byte> config;    // the device's config space
    bool holdBackendChannel = false;  // keep SET_BACKEND_REQ_FD's fd open for the connection
    // Per chain popped from queue 0 at a kick, in ring order.
    std::function<void(const DeviceChain& chain)> onCommand;
    // At every kick of queue 1: the chains popped then (possibly none), in ring order.
    std::function<void(std::vector<DeviceChain> chains)> onEventBuffers;
  };

  FakeVhostDevice(std::string socketPath, Device device);  // aborts if it cannot listen
  ~FakeVhostDevice();                                      // stop()s if still serving
  FakeVhostDevice(const FakeVhostDevice&) = delete;
  FakeVhostDevice& operator=(const FakeVhostDevice&) = delete;

  // Wakes the serving thread and joins it: the connection is closed when this returns. Once only.
  void stop();

  // Guest-side helpers, for the hooks (valid once the memory table and the queue are set up).
  // Guest-physical [gpa, gpa + length) as host bytes.
  std::span<std::byte> translate(uint64_t gpa, uint64_t length);
  // Publishes `head` as used with `length` written bytes on `queue`; no interrupt.
  void pushUsed(uint32_t queue, uint16_t head, uint32_t length);
  // Interrupts the guest for `queue` (writes its call eventfd).
  void signal(uint32_t queue);
  // Copies as much of `bytes` as fits into `into`, then pushUsed(queue, head, that) and signal().
  void respond(uint32_t queue, uint16_t head, const DeviceDesc& into,
               std::span<const std::byte> bytes);

 private:
  struct Connection;  // the served connection's state; lives in run()'s frame
  void run();
  void serve(Connection& connection);

  std::string path_;
  Device device_;
  UniqueFd listener_;
  UniqueFd wake_;
  Connection* connection_ = nullptr;  // set while serve() runs
  std::thread thread_;
};

}  // namespace vdec::harness::testing
