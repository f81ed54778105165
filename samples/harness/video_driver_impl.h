// SPDX-License-Identifier: MIT
// VideoDriver::Impl: the driver's state, shared by video_driver.cpp (start-up, the queues, the
// command path) and video_driver_commands.cpp (the typed commands). Not for other users.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "samples/harness/driver_virtqueue.h"
#include "samples/harness/guest_ram.h"
#include "samples/harness/object_exporter.h"
#include "samples/harness/vhost_user_frontend.h"
#include "samples/harness/video_driver.h"
#include "vdec/base/unique_fd.h"

namespace vdec::harness {

struct VideoDriver::Impl {
  using Clock = std::chrono::steady_clock;

  // What a command in flight was about (the guest driver's vbuf bookkeeping).
  struct Pending {
    uint32_t type = 0;
    uint32_t streamId = 0;
    uint32_t queueType = 0;
    uint32_t resourceId = 0;
    bool async = false;
    bool abandoned = false;                    // its synchronous caller timed out
    std::vector<buffers::GuestRange> buffers;  // request, [entries], response
    buffers::GuestRange response{};
  };
  struct Done {
    uint32_t usedLen = 0;
    std::vector<std::byte> response;  // the whole response buffer, as the guest reads it
    size_t queuedAhead = 0;           // QUEUE_CLEAR: RESOURCE_QUEUEs of its queue still in flight
  };

  // Declaration order = reverse destruction order: the socket closes first, RAM goes last.
  DriverOptions options;
  GuestRam ram;
  std::unique_ptr<ObjectExporter> exporter;
  std::optional<DriverVirtqueue> control;
  std::optional<DriverVirtqueue> event;
  UniqueFd errFds[2];
  wire::virtio_video_config config{};
  uint64_t features = 0;
  std::map<uint16_t, buffers::GuestRange> eventBuffers;  // event queue head -> its 8-byte buffer
  std::map<uint16_t, Pending> pending;                   // control queue head -> command
  std::map<uint16_t, Done> done;                         // completed synchronous commands
  Activity activity;
  std::vector<buffers::GuestRange> pagePool;  // free single-page command buffers
  std::string failure;                        // set once the connection is unusable
  std::unique_ptr<VhostUserFrontend> frontend;

  Result<buffers::GuestRange> allocBuffer(size_t bytes);
  void releaseBuffer(const buffers::GuestRange& range);
  Status usable() const;
  Result<uint16_t> submit(Pending meta, std::span<const std::byte> request,
                          std::span<const std::byte> extra, size_t responseCapacity);
  Status drainQueues();
  Status handleControl(const UsedElem& used);
  Status handleEvent(const UsedElem& used);
  Result<bool> waitUntil(const std::function<bool()>& ready, Clock::time_point deadline);
  Result<Done> execute(Pending meta, std::span<const std::byte> request,
                       std::span<const std::byte> extra, size_t responseCapacity);
  // execute() plus the response type check: error types become their ErrorCode.
  Result<Done> command(Pending meta, std::span<const std::byte> request,
                       std::span<const std::byte> extra, size_t responseCapacity,
                       uint32_t expectedType);
  // Marks the connection unusable (first reason wins) and returns the error to report.
  Error fail(std::string reason);
};

}  // namespace vdec::harness
