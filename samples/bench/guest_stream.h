// SPDX-License-Identifier: MIT
// GuestStream: the benchmark's guest side of one decode: the harness's VideoDriver driven like
// DecodeRunner drives it, minus what a benchmark must not pay for (no frame is read, hashed or
// converted: the guest hands every output buffer straight back), plus the device's statistics
// and a hook between waits, where the latency probe runs its commands.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "buffers/frame_layout.h"
#include "buffers/guest_pages.h"
#include "samples/harness/bitstream_reader.h"
#include "samples/harness/decode_runner.h"
#include "samples/harness/stream_client.h"
#include "samples/harness/video_driver.h"
#include "vdec/base/result.h"

namespace vdec::bench {

struct GuestStreamOptions {
  uint32_t streamId = 1;
  buffers::PixelFormat outputFormat = buffers::PixelFormat::kI420;
  harness::OutputMemory memory = harness::OutputMemory::kContiguous;
  uint32_t inputBuffers = 4;
  uint32_t outputBuffers = 0;  // 0: the device's min_buffers + 2 (at least 4)
  std::chrono::milliseconds idleTimeout{20000};
};

// What the device reported for the stream (GET_CONTROL VDEC_CONTROL_STATS_*), read after EOS.
struct DeviceStats {
  uint32_t frames = 0;
  uint32_t bytesCopiedPerFrame = 0;
  uint32_t directFrames = 0;
  uint32_t bounceFrames = 0;
  uint32_t errorFrames = 0;
};

struct GuestRun {
  uint64_t frames = 0;  // output buffers the device filled (no ERR)
  uint64_t errorFrames = 0;
  double seconds = 0;                // STREAM_CREATE .. EOS
  double firstFrameSeconds = 0;      // STREAM_CREATE .. the first picture (time to first frame)
  std::chrono::steady_clock::time_point createdAt, firstFrameAt, eosAt;
  std::optional<DeviceStats> stats;  // empty when the device does not answer the controls
};

// Borrows `driver`. Single-threaded, on the caller's thread.
class GuestStream {
 public:
  using Hook = std::function<Status()>;
  GuestStream(harness::VideoDriver& driver, const GuestStreamOptions& options);
  ~GuestStream();
  GuestStream(const GuestStream&) = delete;
  GuestStream& operator=(const GuestStream&) = delete;

  // Decodes `input` on a fresh stream, reads the statistics, destroys the stream. `hook`, if
  // set, runs after every wait for device activity (and must not wait for this stream).
  Result<GuestRun> run(const harness::BitstreamReader& input, const Hook& hook = {});

  // Step by step, for several streams sharing one driver (runConcurrently): start() creates the
  // stream, pump() queues what input it can (and the drain at the end), handle() takes this
  // stream's part of an activity, finished() once EOS and the drain came back, finish() reads
  // the statistics and destroys the stream. `input` must outlive the run.
  Status start(const harness::BitstreamReader& input);
  Status pump();
  Status handle(const harness::Activity& activity);
  bool finished() const { return gotEos_ && drainDone_; }
  Result<GuestRun> finish();

 private:
  // Inputs and outputs alike; an input uses only id, ranges (guest pages) and queued.
  using Buffer = harness::OutputBuffer;

  Status open(const harness::BitstreamReader& input);
  Status feed(const harness::BitstreamReader& input);
  Status setupCapture();
  std::optional<DeviceStats> readStats();
  void close();
  void releaseOutputs();

  harness::VideoDriver& driver_;
  GuestStreamOptions options_;
  std::vector<Buffer> inputs_;
  std::vector<Buffer> outputs_;
  size_t nextUnit_ = 0;
  bool streamOpen_ = false;
  bool captureStreaming_ = false;
  bool drainSent_ = false;
  bool drainDone_ = false;
  bool gotEos_ = false;
  bool failed_ = false;
  GuestRun run_;
  const harness::BitstreamReader* input_ = nullptr;
};

// Runs `streams` (distinct stream ids, one driver) side by side, each on its input, started in
// order; `hook` runs after every wait, `atEnd` once all reached EOS and before any is destroyed
// (while the device's decoder threads still exist).
Result<std::vector<GuestRun>> runConcurrently(
    harness::VideoDriver& driver, const std::vector<GuestStream*>& streams,
    const std::vector<const harness::BitstreamReader*>& inputs, const GuestStream::Hook& hook = {},
    const std::function<void()>& atEnd = {});

}  // namespace vdec::bench
