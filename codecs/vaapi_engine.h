// SPDX-License-Identifier: MIT
// VaapiEngine: libavcodec's VAAPI hwaccel for the one decode pipeline (SessionWorker): decoding
// into the guest's imported resources, or into driver surfaces that are then blitted or copied.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "codecs/av_ptr.h"
#include "codecs/coded_format.h"
#include "codecs/decoder_backend.h"
#include "codecs/decoder_engine.h"
#include "codecs/host_frame_allocator.h"
#include "codecs/vaapi_output.h"
#include "vdec/base/result.h"

namespace vdec::codecs {

// get_buffer2 hands out an imported guest surface (free, lent, path kDirect, the guest created
// at least minBuffers resources) and otherwise a driver surface from FFmpeg's dynamic pool.
// A picture in a guest surface is delivered in place (vaSyncSurface first); one in a driver
// surface goes to the oldest free lent resource by VPP blit (kBlit) or CPU copy (kBounce).
//
// Reference rule: a resource goes back to the decoder only when the guest has re-queued it AND
// libavcodec has released its surface (the AVBufferRef free callback). Copies go only into
// resources libavcodec does not hold, so a reference picture is never overwritten.
//
// When VA-API cannot decode the stream after all (profile or bit depth only known from the
// bitstream; hwaccel set-up fails), libavcodec falls back to software decoding (get_format) and
// pictures are copied with the CPU; the guest sees no difference.
//
// Threads: lend()/clear() on the device thread, under mutex_; the rest on the session thread,
// which is also the only thread libavcodec calls back on (the hwaccel decodes serially).
class VaapiEngine final : public DecoderEngine {
 public:
  // `device` is an AVHWDeviceContext (VAAPI) wrapping `display`. Takes a new reference.
  static Result<std::unique_ptr<VaapiEngine>> create(std::shared_ptr<buffers::VaDisplay> display,
                                                     AVBufferRef* device, CodedFormat format,
                                                     const SessionOptions& options);
  ~VaapiEngine() override;

  const char* name() const override { return "vaapi"; }
  AVCodecContext& context() override { return *context_; }
  int picturesInFlight() const override { return 1; }
  // Nothing here waits for resources off the session thread: lend() is followed by the
  // worker's own wake-up.
  void setWake(std::function<void()>) override {}

  // A resource re-queued with the same id and memory keeps its imported surface.
  void lend(OutputTarget target) override;
  ClearedTargets clear() override;

  Result<FrameGeometry> geometryOf(const AVFrame& frame) const override;
  void describe(const FrameGeometry& geometry, StreamFormat& format) override;
  void applyLayout(const buffers::FrameLayout& layout, uint32_t minBuffers,
                   std::optional<uint32_t> guestBuffers) override;
  bool prepare() override;
  SendReadiness readyToSend(std::chrono::steady_clock::time_point) override { return {}; }
  std::optional<PictureReady> deliver(const AVFrame& frame,
                                      const buffers::FrameLayout& layout) override;
  std::optional<uint32_t> takeEndOfStreamTarget() override;
  std::optional<std::string> takeFailure() override { return hostFrames_.takeFailure(); }
  // Waits for GPU writes the last decode call started into the cleared resources.
  void settleCleared(const ClearedTargets& cleared) override;

 private:
  // One output resource, for as long as the guest uses the same memory under its id.
  struct Slot {
    uint32_t resourceId = 0;
    std::shared_ptr<buffers::ResourceMemory> memory;  // immutable
    bool lent = false;                 // mutex_: queued and not yet returned
    std::atomic<int> decoderRefs{0};   // AVBufferRefs of its surface held by libavcodec/us
    uint64_t planGeneration = 0;       // session thread: the layout `plan` was made for
    VaTargetPlan plan;
  };
  struct SurfaceLease;  // the opaque of an imported surface's AVBufferRef

  VaapiEngine(std::shared_ptr<buffers::VaDisplay> display, CodedFormat format,
              SessionOptions options, AvCodecContextPtr context);

  static AVPixelFormat getFormat(AVCodecContext* context, const AVPixelFormat* formats);
  static int getBuffer(AVCodecContext* context, AVFrame* frame, int flags);
  static void releaseSurface(void* opaque, uint8_t* data);
  AVPixelFormat chooseFormat(AVCodecContext* context, const AVPixelFormat* formats);
  Status setUpFrames(AVCodecContext* context);
  std::shared_ptr<Slot> takeDirectSlot(const AVCodecContext& context);
  std::shared_ptr<Slot> slotOfFrame(const AVFrame& frame) const;  // mutex_ held
  void unlendLocked(uint32_t resourceId);
  PictureReady deliverInPlace(const std::shared_ptr<Slot>& slot);
  PictureReady copyInto(const AVFrame& frame, const buffers::FrameLayout& layout,
                        const std::shared_ptr<Slot>& slot);

  const CodedFormat format_;
  const SessionOptions options_;
  HostFrameAllocator hostFrames_{options_.memoryBudget};  // the software fallback's pictures
  std::shared_ptr<buffers::VaDisplay> display_;
  AvCodecContextPtr context_;

  // Session thread.
  VaapiOutput output_;
  bool software_ = false;  // libavcodec decodes in software (VA-API could not)

  mutable std::mutex mutex_;
  std::map<uint32_t, std::shared_ptr<Slot>> slots_;
  std::deque<uint32_t> lent_;  // lent resource ids, in queue order
  std::optional<buffers::FrameLayout> layout_;
  uint64_t layoutGeneration_ = 0;  // bumped by applyLayout
  uint32_t minBuffers_ = 0;
  bool directBlocked_ = true;  // no decoding into guest surfaces until the layout fits
  bool fewBuffersLogged_ = false;
  std::vector<std::shared_ptr<Slot>> toSettle_;  // cleared while the decoder held them
};

}  // namespace vdec::codecs
