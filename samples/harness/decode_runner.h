// SPDX-License-Identifier: MIT
// DecodeRunner: one decode session driven the way the ChromeOS virtio-video guest driver and
// v4l2-ctl drive the device: open, S_FMT, input buffers, capture set up only on
// RESOLUTION_CHANGED, re-queue on every frame, STREAM_DRAIN + EOS, STREAMOFF/REQBUFS(0)/close.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "buffers/frame_layout.h"
#include "buffers/guest_pages.h"
#include "samples/harness/bitstream_reader.h"
#include "samples/harness/frame_sink.h"
#include "samples/harness/object_exporter.h"
#include "samples/harness/stream_client.h"
#include "samples/harness/video_driver.h"
#include "vdec/base/result.h"

namespace vdec::harness {

// The client that drives the stream.
enum class ClientMode {
  // Well-behaved: input buffers sized to the largest unit, STREAM_DRAIN once CAPTURE streams,
  // waits (idleTimeout) for the EOS buffer.
  kHarness,
  // v4l2-ctl 1.22 on the ARCVM driver (V4l2CtlRunner): sizeimage chunks, STOP at the end of the
  // file (dropped by the driver while CAPTURE is not streaming), leaves on LAST or on idle.
  kV4l2Ctl,
};

std::string_view clientModeName(ClientMode mode);  // "harness", "v4l2-ctl"
std::optional<ClientMode> parseClientMode(std::string_view name);

struct DecodeOptions {
  uint32_t streamId = 1;
  buffers::PixelFormat outputFormat = buffers::PixelFormat::kNv12;
  OutputMemory memory = OutputMemory::kContiguous;
  uint32_t inputBuffers = 4;   // v4l2-ctl's default
  // Capture buffers: 4 is v4l2-ctl's default, whatever min_buffers says; 0 is what players do:
  // once the format is known, the device's min_buffers plus 2 in flight to the display (at
  // least 4), so that the device can decode straight into them.
  uint32_t outputBuffers = 4;
  bool readStats = false;      // read the device's statistics controls before closing
  std::chrono::milliseconds idleTimeout{10000};
  ClientMode client = ClientMode::kHarness;
  // kV4l2Ctl: the OUTPUT sizeimage asked for in S_FMT (v4l2-ctl's sizeimage=); 0 keeps the
  // device's. Every input buffer then holds exactly the sizeimage the device answers.
  uint64_t inputSizeImage = 0;
};

// The device's per-stream statistics (private GET_CONTROL ids VDEC_CONTROL_STATS_*).
struct StreamStats {
  uint32_t frames = 0;
  uint32_t bytesCopiedPerFrame = 0;
  uint32_t directFrames = 0;
  uint32_t bounceFrames = 0;
  uint32_t errorFrames = 0;
};

struct DecodeSummary {
  uint64_t frames = 0;       // frames handed to the sink
  uint64_t errorFrames = 0;  // output buffers returned with ERR while streaming
  uint64_t inputErrors = 0;  // input buffers returned with ERR
  uint32_t resolutionChanges = 0;
  uint32_t errorEvents = 0;  // VIRTIO_VIDEO_EVENT_ERROR for the stream (decode then stops)
  double seconds = 0;
  double fps = 0;
  std::string wholeMd5;
  buffers::FrameLayout layout;  // the last output layout (format, coded size, crop)
  bool gotEos = false;
  bool gotEosEvent = false;  // virtio-media: V4L2_EVENT_EOS seen (besides the LAST buffer)
  std::optional<StreamStats> stats;  // with DecodeOptions::readStats
  std::string statsUnavailable;      // readStats, but the device offers no such controls: why
  // ClientMode::kV4l2Ctl only:
  uint64_t skippedFrames = 0;  // CAPTURE buffers not written: ERROR, or bytesused 0
  bool stopSent = false;       // the file ended and the client sent DEC_CMD_STOP...
  bool stopDropped = false;    // ...which the guest driver dropped (CAPTURE was not streaming)
  std::string ending;          // why the client left, e.g. "LAST buffer", "0.5 s idle after STOP"
};

// Borrows `driver` for its whole life. Runs on the caller's thread; single-threaded.
class DecodeRunner {
 public:
  DecodeRunner(VideoDriver& driver, const DecodeOptions& options);
  ~DecodeRunner();
  DecodeRunner(const DecodeRunner&) = delete;
  DecodeRunner& operator=(const DecodeRunner&) = delete;

  // Decodes `input` on a fresh stream and tears the stream down again (also on failure).
  // An EVENT_ERROR ends the decode early without failing: see DecodeSummary::errorEvents.
  // Fails on a command error, a frame that cannot be read, or idleTimeout without activity.
  Result<DecodeSummary> run(const BitstreamReader& input, FrameSink& sink);

 private:
  struct InputBuffer {
    uint32_t id = 0;
    buffers::GuestRange range;
    bool queued = false;
  };

  Status openStream(const BitstreamReader& input);
  Status decodeLoop(const BitstreamReader& input, FrameSink& sink);
  Status feedInputs(const BitstreamReader& input);
  Status handleActivity(const Activity& activity, FrameSink& sink, bool clearingOutputs);
  Status handleOutput(const QueueCompletion& completion, FrameSink& sink, bool clearingOutputs);
  Status setupCapture(FrameSink& sink);
  Status allocateOutputs(uint64_t size);
  void releaseOutputs();
  Status readFrame(const OutputBuffer& buffer, FrameSink& sink);
  Status closeStream();
  Result<StreamStats> readStats();
  std::string pendingDescription(const BitstreamReader& input) const;

  VideoDriver& driver_;
  DecodeOptions options_;
  wire::virtio_video_params_ext inParams_{};
  wire::virtio_video_params_ext outParams_{};
  buffers::FrameLayout layout_;
  bool haveLayout_ = false;
  std::vector<InputBuffer> inputs_;
  std::vector<OutputBuffer> outputs_;
  std::vector<wire::virtio_video_event> pendingEvents_;
  std::vector<std::byte> frameBytes_;
  size_t nextUnit_ = 0;
  bool inputStreaming_ = false;
  bool captureStreaming_ = false;
  bool drainSent_ = false;
  bool drainDone_ = false;
  bool streamOpen_ = false;
  bool stopped_ = false;  // EVENT_ERROR: stop feeding and re-queueing
  DecodeSummary summary_;
};

}  // namespace vdec::harness
