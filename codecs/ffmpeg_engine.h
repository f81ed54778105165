// SPDX-License-Identifier: MIT
// FfmpegEngine: libavcodec's software decoders for the one decode pipeline (SessionWorker):
// frame-threaded decoding straight into the guest's resources (FramePool), a probe for the
// first format, and the copies when a picture could not be decoded in place.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "codecs/av_ptr.h"
#include "codecs/coded_format.h"
#include "codecs/decoder_backend.h"
#include "codecs/decoder_engine.h"
#include "codecs/direct_layout.h"
#include "codecs/ffmpeg_probe.h"
#include "codecs/frame_pool.h"
#include "vdec/base/result.h"

namespace vdec::codecs {

// Direct rendering (FramePool): get_buffer2 hands libavcodec the guest's own resources. The
// announced layout carries the strides and rows libavcodec needs (describe()). Per resource,
// buffers::decideOutputPath decides once per layout and it is logged. I420/YV12 are decoded in
// place (0 bytes copied); NV12 gets its luma in place and its chroma interleaved on output.
//
// Buffer starvation: with at least minBuffers resources created (setGuestBufferCount) the stream
// renders directly at once. Otherwise (fewer, or a guest that creates buffers as it queues them)
// the engine counts the distinct resources the guest lends after the layout: once minBuffers
// were lent it renders directly; if a resource comes back a second time first, or no more arrive
// for kLendSettle, the stream decodes into host frames and copies (bounce) until the next
// layout, with one warning.
//
// Waits, all bounded and all on the session thread or libavcodec's threads, never the device's:
//  - readyToSend(): a stream decided direct from the guest's buffer count waits up to
//    kLendWait for that many to be lent; while resources are out with the guest (it reads
//    delivered pictures and queues them again) packets wait up to kLendWait per picture rather
//    than decode into host frames;
//  - get_buffer2 (FramePool::kReturnWait) on a frame thread, see frame_pool.h.
class FfmpegEngine final : public DecoderEngine {
 public:
  // Sets up (does not open) the libavcodec decoder for `format` with the options' threads:
  // cheap, on the device thread. open() opens it on the session thread.
  static Result<std::unique_ptr<FfmpegEngine>> create(CodedFormat format,
                                                      const SessionOptions& options);
  // avcodec_open2 (and the probe's) on the helper thread at the decoders' priority, so that
  // libavcodec's frame threads inherit it; the session thread waits, not the device thread.
  Status open() override;
  ~FfmpegEngine() override;

  const char* name() const override { return "ffmpeg"; }
  AVCodecContext& context() override { return *context_; }
  int picturesInFlight() const override { return std::max(context_->thread_count, 1); }
  void setWake(std::function<void()> wake) override { pool_->setWake(std::move(wake)); }

  void lend(OutputTarget target) override { pool_->lend(std::move(target)); }
  ClearedTargets clear() override;

  std::optional<ProbedFormat> probePacket(const AVPacket& packet) override;
  bool probePending() const override { return probe_ && probe_->hasUndrainedInput(); }
  std::optional<ProbedFormat> drainProbe() override;
  void dropProbe() override { probe_.reset(); }

  Result<FrameGeometry> geometryOf(const AVFrame& frame) const override;
  void describe(const FrameGeometry& geometry, StreamFormat& format) override;
  void applyLayout(const buffers::FrameLayout& layout, uint32_t minBuffers,
                   std::optional<uint32_t> guestBuffers) override;
  bool prepare() override;
  SendReadiness readyToSend(std::chrono::steady_clock::time_point now) override;
  void received(const AVFrame& frame) override { pool_->markReceived(frame); }
  std::optional<PictureReady> deliver(const AVFrame& frame,
                                      const buffers::FrameLayout& layout) override;
  std::optional<uint32_t> takeEndOfStreamTarget() override;
  std::optional<std::string> takeFailure() override { return pool_->hostFrames().takeFailure(); }

  // How long after the last lend the guest is taken to have lent all its output buffers.
  static constexpr std::chrono::milliseconds kLendSettle{100};
  // How long packets wait for resources that are out with the guest (per picture), or for the
  // buffers a direct decision counted on to be lent.
  static constexpr std::chrono::milliseconds kLendWait{1000};

 private:
  FfmpegEngine(CodedFormat format, SessionOptions options, ThreadBudget::Lease threads,
               std::shared_ptr<FramePool> pool, AvCodecContextPtr context);
  bool decideMode(std::chrono::steady_clock::time_point now,
                  std::optional<std::chrono::steady_clock::time_point>& lookAgainAt);
  PictureReady deliverInPlace(const AVFrame& frame, const buffers::FrameLayout& layout,
                              const OutputTarget& target) const;
  PictureReady copyInto(const AVFrame& frame, const buffers::FrameLayout& layout,
                        const OutputTarget& target) const;

  const CodedFormat format_;
  const SessionOptions options_;
  ThreadBudget::Lease threads_;  // this stream's share of the daemon's decoder threads
  const std::shared_ptr<FramePool> pool_;  // before context_: outlives libavcodec's buffers
  AvCodecContextPtr context_;
  std::unique_ptr<FfmpegProbe> probe_;  // until the first format is announced

  // Session thread.
  std::optional<DecoderAlignment> alignment_;  // of the announced geometry
  uint32_t minBuffers_ = 0;
  std::optional<uint32_t> guestBuffers_;
  // When packets started waiting for the guest to lend the buffers counted on.
  std::optional<std::chrono::steady_clock::time_point> lendWaitSince_;
  // When packets started waiting for resources out with the guest.
  std::optional<std::chrono::steady_clock::time_point> returnWaitSince_;
};

}  // namespace vdec::codecs
