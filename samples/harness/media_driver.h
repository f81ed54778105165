// SPDX-License-Identifier: MIT
// MediaDriver: the harness's VMM + virtio-media guest driver (chromeos/virtio-media's
// virtio_media_driver.c), talking to a real `vdec-device --protocol media` over vhost-user with
// real split vrings in memfd guest RAM.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "samples/harness/guest_ram.h"
#include "vdec/base/result.h"
#include "vdec/protocol/virtio_media.h"

namespace vdec::harness {

class ObjectExporter;

struct MediaDriverOptions {
  std::string socketPath;
  // Instead of socketPath: an already connected socket (see DriverOptions::connectedSocket).
  int connectedSocket = -1;
  uint64_t ramBytes = 768ull << 20;
  uint32_t commandQueueSize = 256;
  uint32_t eventQueueSize = 64;
  uint32_t eventBuffers = 16;                      // posted at probe, 608 bytes each
  std::chrono::milliseconds commandTimeout{5000};  // the guest driver's wait_event_timeout(5 * HZ)
  bool negotiateSharedObject = true;               // offer the exporter on the back-end channel
  bool eventIdx = true;  // ack VIRTIO_RING_F_EVENT_IDX when offered, as the Linux virtio ring does
};

// One command's device-readable descriptors in order ([cmd][payload][planes][SG entries or
// UUIDs]) and the sizes of its device-writable ones ([resp][payload][planes][UUIDs]); no
// writable sizes for CLOSE. Empty segments are skipped.
struct MediaChain {
  std::vector<std::vector<std::byte>> readable;
  std::vector<size_t> writable;
};

// What the device wrote into the writable descriptors, concatenated and cut to the used length.
struct MediaResponse {
  uint32_t usedLen = 0;
  std::vector<std::byte> bytes;
};

// An eventq event as the guest read it (the bytes the device wrote, up to its used length).
struct MediaEvent {
  uint32_t type = 0;  // VIRTIO_MEDIA_EVT_*
  uint32_t sessionId = 0;
  std::vector<std::byte> bytes;
};

// Commands are synchronous and serialized, as the guest driver's device-wide mutex makes them;
// each waits up to commandTimeout, after which the driver is unusable (the chain may still be
// read). Events that arrive meanwhile are queued per session. Threads: single-threaded.
class MediaDriver {
 public:
  static Result<std::unique_ptr<MediaDriver>> connect(const MediaDriverOptions& options);
  ~MediaDriver();

  GuestRam& ram();
  ObjectExporter& exporter();
  const wire::virtio_media_config& config() const;
  uint64_t negotiatedFeatures() const;

  // Sends one chain and waits for its completion. CLOSE-like chains (no writable part) come
  // back with an empty response.
  Result<MediaResponse> execute(const MediaChain& chain);

  // OPEN: the new session id; a failure status becomes an error naming the errno.
  Result<uint32_t> open();
  // CLOSE (no response expected); drops the session's queued events.
  Status close(uint32_t sessionId);

  // Returns the queued events of `sessionId`, waiting up to `timeout` for at least one. Events
  // of unknown sessions are kept (the last 16) until trackSession() claims them, since one may
  // arrive in the same pass as its OPEN's answer; older ones are logged and dropped.
  Result<std::vector<MediaEvent>> waitEvents(uint32_t sessionId, std::chrono::milliseconds timeout);
  // Starts queueing events for `sessionId` (open() does it), with its unclaimed ones.
  void trackSession(uint32_t sessionId);

  // Closes the socket abruptly (VMM crash). The object is unusable afterwards.
  void disconnect();

 private:
  MediaDriver();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "EINVAL", "ENOTTY", ... for a status, or the number.
std::string errnoName(uint32_t status);
// The ErrorCode a guest-visible errno stands for (EINVAL -> kInvalidParameter, ENOTTY ->
// kUnsupported, ENOMEM -> kOutOfMemory, EBUSY/EPIPE -> kInvalidOperation, else kBackendFailure).
ErrorCode errorCodeForErrno(uint32_t status);

}  // namespace vdec::harness
