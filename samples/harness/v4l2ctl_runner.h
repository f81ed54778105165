// SPDX-License-Identifier: MIT
// V4l2CtlRunner: one decode driven exactly as
//   v4l2-ctl --set-fmt-video-out pixelformat=<codec> --stream-mmap --stream-out-mmap
//            --stream-from F [--stream-from-hdr]
// (v4l-utils 1.22) drives the device through the ARCVM virtio-video guest driver, including
// what goes wrong there: its STOP is dropped while CAPTURE is not streaming, and it leaves 0.5 s
// after the last activity once it has sent that STOP. The decisions are V4l2CtlFlow's; this
// class does the commands. See ../shared/reference/guest-driver.md §8 and the second §9.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "buffers/frame_layout.h"
#include "buffers/guest_pages.h"
#include "samples/harness/bitstream_reader.h"
#include "samples/harness/decode_runner.h"
#include "samples/harness/frame_sink.h"
#include "samples/harness/object_exporter.h"
#include "samples/harness/stream_client.h"
#include "samples/harness/v4l2ctl_flow.h"
#include "samples/harness/video_driver.h"
#include "vdec/base/result.h"

namespace vdec::harness {

// Borrows `driver` for its whole life. Runs on the caller's thread; single-threaded.
// Uses of DecodeOptions: streamId, outputFormat (an S_FMT(CAPTURE) as --set-fmt-video would
// send), memory (contig/sg: MMAP on vb2-dma-contig/-sg; object: DMABUF from the exporter),
// inputBuffers, outputBuffers (0 counts as v4l2-ctl's 4), inputSizeImage. readStats and
// idleTimeout do not apply: v4l2-ctl reads no private controls and has its own timeouts.
class V4l2CtlRunner {
 public:
  V4l2CtlRunner(VideoDriver& driver, const DecodeOptions& options);
  ~V4l2CtlRunner();
  V4l2CtlRunner(const V4l2CtlRunner&) = delete;
  V4l2CtlRunner& operator=(const V4l2CtlRunner&) = delete;

  // Decodes `input` on a fresh stream and tears it down as v4l2-ctl does (also on failure).
  // Ending by a timeout is not a failure (v4l2-ctl exits 0): DecodeSummary says how it ended
  // and how many frames it wrote. Fails on a command error or a frame that cannot be read.
  Result<DecodeSummary> run(const BitstreamReader& input, FrameSink& sink);

 private:
  struct InputBuffer {
    uint32_t id = 0;
    buffers::GuestRange range;  // page-aligned allocation; the vb2 length is sizeImage_
    bool queued = false;        // with the device
    bool held = false;          // queued by the client, held in the guest driver
    uint32_t bytesUsed = 0;
    uint64_t timestamp = 0;
  };

  Status open(const BitstreamReader& input);
  Status loop(FrameSink& sink);
  Status handle(const Activity& activity, FrameSink& sink);
  Status handleCapture(const QueueCompletion& completion, FrameSink& sink);
  Status refill(InputBuffer& buffer);
  Status sendInput(InputBuffer& buffer);
  Status sendHeldInputs();
  Status updateParams();
  Status captureSetup();
  Status allocateOutputs(uint64_t size);
  void releaseOutputs();
  Status readFrame(const OutputBuffer& buffer, FrameSink& sink);
  uint64_t cachedFrameBytes() const;
  Status close();

  VideoDriver& driver_;
  DecodeOptions options_;
  wire::virtio_video_params_ext inParams_{};   // the guest driver's cache
  wire::virtio_video_params_ext outParams_{};  // the guest driver's cache
  buffers::FrameLayout layout_;                // what v4l2-ctl read at its last capture_setup
  bool haveLayout_ = false;
  uint64_t sizeImage_ = 0;  // OUTPUT sizeimage: the bytes of every full input buffer
  std::vector<BitstreamUnit> units_;
  size_t nextUnit_ = 0;
  std::vector<InputBuffer> inputs_;
  std::deque<size_t> heldInputs_;  // indices into inputs_, in QBUF order
  std::vector<OutputBuffer> outputs_;
  std::optional<V4l2CtlFlow> flow_;
  Activity carried_;  // what came back while a QUEUE_CLEAR was answered, minus CAPTURE
  std::vector<std::byte> frameBytes_;
  bool streamOpen_ = false;
  bool outputStarted_ = false;   // OUTPUT STREAMON ran (the guest then sends QUEUE_CLEAR(INPUT))
  bool captureStarted_ = false;  // CAPTURE STREAMON ran
  DecodeSummary summary_;
};

}  // namespace vdec::harness
