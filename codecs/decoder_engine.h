// SPDX-License-Identifier: MIT
// DecoderEngine: what a backend adds to the one decode pipeline (SessionWorker): the libavcodec
// context it configured, where pictures are decoded (get_buffer2), and how a decoded picture
// reaches a guest resource.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "buffers/frame_layout.h"
#include "codecs/decoder_session.h"
#include "codecs/ffmpeg_format.h"
#include "vdec/base/result.h"

namespace vdec::codecs {

// Resources taken back by DecoderEngine::clear().
struct ClearedTargets {
  std::vector<uint32_t> ids;
  // A picture may still be being decoded into one of them: libavcodec must be drained before
  // the guest is told they are free.
  bool decodingIntoCleared = false;
};

// The format a probe decoder found before the real decoder gave out its first picture.
struct ProbedFormat {
  FrameGeometry geometry;
  int refs = 0;        // AVCodecContext::refs once the first picture is out
  int hasBFrames = 0;  // its reordering delay
};

// Whether packets may go to libavcodec now; if not, when to look again (nullopt: when woken).
struct SendReadiness {
  bool ready = true;
  std::optional<std::chrono::steady_clock::time_point> lookAgainAt;
};

// Threads: lend() and clear() run on the device thread, concurrently with everything else; the
// other methods run on the session thread, without the worker's lock unless said otherwise.
class DecoderEngine {
 public:
  virtual ~DecoderEngine() = default;

  virtual const char* name() const = 0;  // for logs
  virtual AVCodecContext& context() = 0;
  // Pictures libavcodec may be decoding at once (frame threads), for the buffer count.
  virtual int picturesInFlight() const = 0;
  // `wake` is called (from any thread, never with the engine's own locks held) when a resource
  // may have become free; null stops the calls.
  virtual void setWake(std::function<void()> wake) = 0;

  // Session thread, once, before anything else: opens the decoder (a backend that opened it in
  // its create() has nothing to do). It may wait (avcodec_open2 runs on the low-priority helper
  // thread, decoder_threads.h); the device thread meanwhile keeps answering commands and only
  // queues work. An error fails the stream (StreamError), as a decoding error does.
  virtual Status open() { return okStatus(); }

  // Device thread.
  virtual void lend(OutputTarget target) = 0;
  // After it returns none of the cleared resources is handed to the decoder again (unless lent
  // again); pictures may still be being decoded into them (see ClearedTargets).
  virtual ClearedTargets clear() = 0;

  // Session thread: until the first format is known every parsed packet is offered to a probe.
  virtual std::optional<ProbedFormat> probePacket(const AVPacket& packet) {
    (void)packet;
    return std::nullopt;
  }
  // Packets were offered to the probe since its last drain.
  virtual bool probePending() const { return false; }
  // The input ran dry before a format: the probe gives out what it holds.
  virtual std::optional<ProbedFormat> drainProbe() { return std::nullopt; }
  // The format is known (or decoding restarts): the probe is not needed (any more).
  virtual void dropProbe() {}

  // The geometry the guest must see for a decoded picture, or why it cannot be output.
  virtual Result<FrameGeometry> geometryOf(const AVFrame& frame) const = 0;
  // Fills what direct rendering needs of the layout (strideAlign, heightAlign, extraRows).
  virtual void describe(const FrameGeometry& geometry, StreamFormat& format) = 0;
  // The guest acknowledged `layout` for the current format with `guestBuffers` resources
  // created (when known); the stream needs `minBuffers` to decode straight into them.
  virtual void applyLayout(const buffers::FrameLayout& layout, uint32_t minBuffers,
                           std::optional<uint32_t> guestBuffers) = 0;
  // Per-resource work before decoding into lent resources (imports, mappings); true if it did
  // something (the worker then looks at its queues again).
  virtual bool prepare() { return false; }
  // Whether packets may go to the decoder now (direct rendering waits for the guest's buffers).
  virtual SendReadiness readyToSend(std::chrono::steady_clock::time_point now) = 0;
  // A picture came out of libavcodec.
  virtual void received(const AVFrame& frame) { (void)frame; }
  // Writes (or hands over in place) a decoded picture into a lent resource in `layout`; nullopt
  // when no resource is free yet. The worker fills in the timestamp and the damage flag.
  virtual std::optional<PictureReady> deliver(const AVFrame& frame,
                                              const buffers::FrameLayout& layout) = 0;
  // A lent resource for the empty end-of-stream buffer; nullopt when none is lent.
  virtual std::optional<uint32_t> takeEndOfStreamTarget() = 0;
  // Waits for writes into the cleared resources that do not show in libavcodec (GPU work).
  virtual void settleCleared(const ClearedTargets& cleared) { (void)cleared; }
  // Any thread, polled by the session after each decoding step: why the stream cannot go on
  // (a host picture over the memory budget), once; nullopt otherwise.
  virtual std::optional<std::string> takeFailure() { return std::nullopt; }
};

}  // namespace vdec::codecs
