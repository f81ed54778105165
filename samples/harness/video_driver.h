// SPDX-License-Identifier: MIT
// VideoDriver: the harness's VMM + virtio-video guest driver, talking to a real vdec-device over
// vhost-user with real split vrings in memfd guest RAM.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "buffers/guest_pages.h"
#include "samples/harness/guest_ram.h"
#include "vdec/base/result.h"
#include "vdec/protocol/virtio_video.h"

namespace vdec::harness {

class VhostUserFrontend;
class ObjectExporter;

struct DriverOptions {
  std::string socketPath;
  // Instead of socketPath: an already connected socket (a socketpair end whose peer a
  // `vdec-device --fd` serves). connect() uses a duplicate; the caller keeps and closes its fd.
  int connectedSocket = -1;
  uint64_t ramBytes = 768ull << 20;
  uint32_t commandQueueSize = 256;
  uint32_t eventQueueSize = 64;
  std::chrono::milliseconds commandTimeout{5000};  // the guest driver's 5 s
  bool negotiateSharedObject = true;  // offer the exporter on the back-end channel
  // Negotiate VIRTIO_RING_F_EVENT_IDX when offered (the Linux virtio ring does).
  bool eventIdx = true;
};

// A RESOURCE_QUEUE the device completed.
struct QueueCompletion {
  uint32_t streamId = 0;
  uint32_t queueType = 0;
  uint32_t resourceId = 0;
  uint64_t timestamp = 0;
  uint32_t flags = 0;
  uint32_t size = 0;
  uint32_t responseType = 0;  // VIRTIO_VIDEO_RESP_* of the header
};

// Virtqueue notifications so far, both queues together (DriverVirtqueue::kicks/calls).
struct NotificationCounts {
  uint64_t kicks = 0;  // guest -> device
  uint64_t calls = 0;  // device -> guest (used-ring notifications: interrupts in a VM)
};

// Everything that happened while waiting.
struct Activity {
  std::vector<QueueCompletion> queues;
  std::vector<wire::virtio_video_event> events;
  std::vector<uint32_t> drainsDone;  // stream ids whose STREAM_DRAIN completed
  std::vector<uint32_t> drainResponseTypes;
  bool empty() const { return queues.empty() && events.empty() && drainsDone.empty(); }
};

// Commands follow the ChromeOS guest driver: STREAM_CREATE with VIRTIO_OBJECT on both queues,
// only the _EXT params commands, event buffers posted before DRIVER_OK.
// Synchronous calls wait up to commandTimeout and fail with kBackendFailure on timeout; an error
// response is returned as an Error whose code matches the response (kInvalidStreamId, ...).
// Asynchronous completions that arrive during a synchronous wait are kept for waitActivity().
// Threads: single-threaded.
class VideoDriver {
 public:
  static Result<std::unique_ptr<VideoDriver>> connect(const DriverOptions& options);
  ~VideoDriver();

  GuestRam& ram();
  ObjectExporter& exporter();           // the virtio-gpu-like UUID exporter (issue 3)
  const wire::virtio_video_config& config() const;
  uint64_t negotiatedFeatures() const;  // virtio feature bits acked

  // Raw access for tests: sends `request` (+ optional second readable descriptor) and waits for
  // the response of up to responseCapacity bytes.
  Result<std::vector<std::byte>> rawCommand(std::span<const std::byte> request,
                                            std::span<const std::byte> extra,
                                            size_t responseCapacity);

  Result<std::vector<std::byte>> queryCapability(uint32_t queueType);  // whole response
  Status streamCreate(uint32_t streamId, uint32_t codedFormat);
  Status streamDestroy(uint32_t streamId);
  Result<wire::virtio_video_params_ext> getParams(uint32_t streamId, uint32_t queueType);
  Status setParams(uint32_t streamId, const wire::virtio_video_params_ext& params);
  Result<uint32_t> getControl(uint32_t streamId, uint32_t control);
  Status resourceCreateGuestPages(uint32_t streamId, uint32_t queueType, uint32_t resourceId,
                                  const std::vector<buffers::GuestRange>& entries);
  Status resourceCreateObject(uint32_t streamId, uint32_t queueType, uint32_t resourceId,
                              const std::array<uint8_t, 16>& uuid,
                              const std::vector<uint32_t>& planeOffsets);
  Status resourceDestroyAll(uint32_t streamId, uint32_t queueType);
  // Waits for the response; the pending RESOURCE_QUEUEs of that queue come back first (ERR).
  Status queueClear(uint32_t streamId, uint32_t queueType);

  // Asynchronous: completion shows up in waitActivity().
  Status resourceQueue(uint32_t streamId, uint32_t queueType, uint32_t resourceId,
                       uint64_t timestamp, uint32_t dataSize);
  Status streamDrain(uint32_t streamId);

  // Returns what completed; waits up to timeout for at least one thing. Re-posts event buffers.
  Result<Activity> waitActivity(std::chrono::milliseconds timeout);

  NotificationCounts notifications() const;

  // Closes the socket abruptly (VMM crash). The object is unusable afterwards.
  void disconnect();

 private:
  VideoDriver();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vdec::harness
