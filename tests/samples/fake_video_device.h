// SPDX-License-Identifier: MIT
// FakeVideoDevice: an in-process vhost-user virtio-video back-end for VideoDriver tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "tests/samples/fake_vhost_device.h"
#include "tests/samples/test_ring_device.h"

namespace vdec::harness::testing {

// What the device saw, for assertions (read after stop()).
struct FakeDeviceLog {
  std::vector<uint32_t> commands;     // command types in arrival order
  std::vector<bool> indirect;         // per command: came through an indirect table
  std::vector<size_t> descriptors;    // per command: descriptors in its chain
  std::vector<size_t> responseSizes;  // per command: writable bytes offered
  uint32_t streamInMem = 99;
  uint32_t streamOutMem = 99;
  std::string streamTag;
  std::vector<uint8_t> objectEntry;  // RESOURCE_CREATE's second descriptor (last seen)
  uint32_t createNumPlanes = 0;
  uint32_t eventBuffersAtStart = 0;  // event buffers available when the rings started
};

// Listens on `socketPath`; serves one connection on a thread: the vhost-user handshake
// (REPLY_ACK, CONFIG, MQ, BACKEND_REQ), then the control queue with canned answers:
// QUERY_CAPABILITY (one H264 desc), STREAM_CREATE, GET_PARAMS_EXT, SET_PARAMS_EXT, GET_CONTROL,
// RESOURCE_CREATE, RESOURCE_DESTROY_ALL; RESOURCE_QUEUE completes at once echoing its
// timestamp, and the first one also sends RESOLUTION_CHANGED; STREAM_DRAIN completes with
// OK_NODATA; STREAM_DESTROY of stream 99 answers INVALID_STREAM_ID; QUEUE_CLEAR holds its
// answer until stop() if `silentClear` (to test timeouts).
class FakeVideoDevice {
 public:
  explicit FakeVideoDevice(std::string socketPath, bool silentClear = false);
  // Closes the connection and joins; returns the log.
  FakeDeviceLog stop();

 private:
  // Hooks; on the serving thread.
  void handleCommand(const DeviceChain& chain);
  void takeEventBuffers(std::vector<DeviceChain> chains);
  void sendEvent(uint32_t type, uint32_t stream);  // into the oldest event buffer, if any

  bool silentClear_;
  FakeDeviceLog log_;
  std::deque<DeviceChain> events_;  // posted event buffers
  std::vector<uint16_t> held_;      // QUEUE_CLEAR heads never answered
  bool sentResolution_ = false;
  bool sawEvents_ = false;
  FakeVhostDevice vhost_;  // last: serves (and calls the hooks) only once the state above exists
};

}  // namespace vdec::harness::testing
