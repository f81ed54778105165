// SPDX-License-Identifier: MIT
// FakeMediaDevice: an in-process vhost-user virtio-media back-end that misbehaves on the eventq,
// for MediaDriver tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "tests/samples/fake_vhost_device.h"
#include "tests/samples/test_ring_device.h"

namespace vdec::harness::testing {

struct FakeMediaLog {
  std::vector<uint32_t> commands;        // command types in arrival order
  std::vector<size_t> writableSizes;     // per command: writable bytes offered
  uint32_t eventBuffersAtStart = 0;      // eventq buffers posted before the first command
  uint32_t eventBuffersSeen = 0;         // eventq buffers posted in all (re-posts included)
};

// Listens on `socketPath`; serves one connection on a thread: the vhost-user handshake with a
// 40-byte virtio-media config, then the commandq: OPEN answers session 5; IOCTL answers status 0
// with the header only, after queueing `eventsPerIoctl` V4L2 EOS events for session 5; CLOSE is
// completed with length 0. OPEN also queues hostile events: a 4-byte one, an EVENT for session
// 77, and a DQBUF for session 5 cut to 16 bytes. Events wait for eventq buffers (none dropped).
class FakeMediaDevice {
 public:
  FakeMediaDevice(std::string socketPath, uint32_t eventsPerIoctl);
  FakeMediaLog stop();  // closes the connection and joins

 private:
  // Hooks; on the serving thread.
  void handleCommand(const DeviceChain& chain);
  void takeEventBuffers(std::vector<DeviceChain> chains);
  void flushEvents();

  uint32_t eventsPerIoctl_;
  FakeMediaLog log_;
  std::deque<DeviceChain> buffers_;             // posted eventq buffers
  std::deque<std::vector<std::byte>> pending_;  // events waiting for a buffer
  bool sawCommand_ = false;
  FakeVhostDevice vhost_;  // last: serves (and calls the hooks) only once the state above exists
};

}  // namespace vdec::harness::testing
