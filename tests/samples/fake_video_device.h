// SPDX-License-Identifier: MIT
// FakeVideoDevice: an in-process vhost-user virtio-video back-end for VideoDriver tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vdec/base/unique_fd.h"

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
  ~FakeVideoDevice();
  // Closes the connection and joins; returns the log.
  FakeDeviceLog stop();

 private:
  void run();
  std::string path_;
  bool silentClear_;
  UniqueFd listener_;
  UniqueFd wake_;
  std::thread thread_;
  FakeDeviceLog log_;
};

}  // namespace vdec::harness::testing
