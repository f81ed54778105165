// SPDX-License-Identifier: MIT
// MediaStreamClient: one decode on a virtio-media session, driven as a V4L2 stateful decoder
// client (Documentation/userspace-api/media/v4l/dev-decoder.rst) and as
// `v4l2-ctl --stream-user --stream-out-user` drives it through the guest driver.
#pragma once

#include <linux/videodev2.h>

#include <optional>
#include <vector>

#include "samples/harness/bitstream_reader.h"
#include "samples/harness/decode_runner.h"
#include "samples/harness/frame_sink.h"
#include "samples/harness/media_buffers.h"
#include "samples/harness/media_driver.h"
#include "samples/harness/media_session.h"

namespace vdec::harness {

// The sequence (dev-decoder.rst):
//   OPEN; S_FMT(OUTPUT, coded fourcc, sizeimage); REQBUFS(OUTPUT); SUBSCRIBE_EVENT(SOURCE_CHANGE,
//   EOS); STREAMON(OUTPUT); QBUF bitstream units as OUTPUT buffers come back (DQBUF events);
//   on SOURCE_CHANGE (the first, or after the LAST buffer of a resolution change):
//   [STREAMOFF(CAPTURE), REQBUFS(CAPTURE, 0)], G_FMT + S_FMT(CAPTURE, wanted format),
//   G_SELECTION(COMPOSE), G_CTRL(MIN_BUFFERS_FOR_CAPTURE), REQBUFS(CAPTURE), QBUF all,
//   STREAMON(CAPTURE); frames from CAPTURE DQBUF events, re-queued; at the end of the file
//   DECODER_CMD(STOP) once CAPTURE streams, then until the LAST buffer (and the EOS event);
//   STREAMOFF x2, REQBUFS(0) x2, CLOSE.
// Buffers: USERPTR (SHARED_PAGES) for contig/sg memory, DMABUF (VIRTIO_OBJECT) for objects, on
// both queues. DecodeOptions::client is ignored (one client model). Borrows the driver.
// Threads: the caller's.
class MediaStreamClient {
 public:
  MediaStreamClient(MediaDriver& driver, const DecodeOptions& options);
  ~MediaStreamClient();
  MediaStreamClient(const MediaStreamClient&) = delete;
  MediaStreamClient& operator=(const MediaStreamClient&) = delete;

  // Decodes `input` on a fresh session and closes it again (also on failure). An ERROR event
  // ends the decode early without failing (DecodeSummary::errorEvents). Fails on an ioctl error,
  // an unreadable frame, or idleTimeout without an event.
  Result<DecodeSummary> run(const BitstreamReader& input, FrameSink& sink);

 private:
  Status openSession(const BitstreamReader& input);
  Status decodeLoop(const BitstreamReader& input, FrameSink& sink);
  Status feedInputs(const BitstreamReader& input);
  Status handleEvent(const MediaEvent& event, FrameSink& sink);
  Status unlessFailed(Status status, FrameSink& sink);
  Status handleDqbuf(const wire::virtio_media_event_dqbuf& event, FrameSink& sink);
  Status queueCapture(MediaBuffer& buffer);
  Status setupCapture();
  Status stopCapture();
  Status closeSession();
  Result<StreamStats> readStats();
  std::string pendingDescription(const BitstreamReader& input) const;

  MediaDriver& driver_;
  DecodeOptions options_;
  uint32_t memory_ = V4L2_MEMORY_USERPTR;
  std::optional<MediaSession> session_;
  buffers::FrameLayout layout_;
  std::vector<MediaBuffer> inputs_;
  std::vector<MediaBuffer> outputs_;  // CAPTURE
  std::vector<std::byte> frameBytes_;
  size_t nextUnit_ = 0;
  bool outputStreaming_ = false;
  bool captureStreaming_ = false;
  bool sourceChangePending_ = false;  // a SOURCE_CHANGE(RESOLUTION) not handled yet
  bool lastSeen_ = false;             // a CAPTURE buffer with V4L2_BUF_FLAG_LAST since setup
  bool stopSent_ = false;
  bool stopped_ = false;  // ERROR event: stop feeding and re-queueing
  DecodeSummary summary_;
};

}  // namespace vdec::harness
