// SPDX-License-Identifier: MIT
// VaapiSession: one stream decoded by libavcodec's VAAPI hwaccel on the session's own thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "buffers/frame_layout.h"
#include "codecs/av_ptr.h"
#include "codecs/coded_format.h"
#include "codecs/decoder_backend.h"
#include "codecs/decoder_session.h"
#include "codecs/ffmpeg_format.h"
#include "codecs/vaapi_output.h"
#include "vdec/base/result.h"

namespace vdec::codecs {

// Lifecycle of a picture:
//
//   decode() bytes -> parser -> AVPacket -> libavcodec + VAAPI hwaccel -> get_buffer2:
//       an imported guest surface (free, lent, path kDirect, enough buffers)  -> decoded in place
//       else a driver surface from FFmpeg's dynamic pool
//   -> decoded frames (<= kMaxDecodedFrames) -> [new geometry: FormatChanged, setOutputLayout()]
//   -> in a guest surface: PictureReady(kDirect), nothing copied
//      in a driver surface: oldest free OutputTarget <- VPP blit (kBlit) or CPU copy (kBounce)
//
// Reference rule: a resource goes back to the decoder only when the guest has re-queued it AND
// libavcodec has released its surface (the AVBufferRef free callback). Copies go only into
// resources libavcodec does not hold, so a reference picture is never overwritten. With fewer
// resources than minBuffers the decoder renders into driver surfaces and pictures are copied
// out: the stream never waits for a buffer the guest cannot give.
//
// When VA-API cannot decode the stream after all (profile or bit depth only known from the
// bitstream; hwaccel set-up fails), libavcodec falls back to software decoding inside this
// session (get_format) and pictures are copied with the CPU; the guest sees no difference.
//
// Threads: public methods run on the device thread and touch shared state under the mutex;
// libavcodec runs on the session thread with one decoding thread (the hwaccel is serial), so
// every AVFrame and surface reference is released on that thread or, after it has stopped, in
// the destructor. notify is called from the session thread without the mutex held.
class VaapiSession final : public DecoderSession {
 public:
  // `device` is an AVHWDeviceContext (VAAPI) wrapping `display`: surfaces imported on the
  // display and those FFmpeg allocates belong to one VADisplay. Takes a new reference.
  static Result<std::unique_ptr<VaapiSession>> create(std::shared_ptr<buffers::VaDisplay> display,
                                                      AVBufferRef* device, CodedFormat format,
                                                      const SessionOptions& options);
  ~VaapiSession() override;

  VaapiSession(const VaapiSession&) = delete;
  VaapiSession& operator=(const VaapiSession&) = delete;

  void decode(uint32_t inputId, uint64_t timestamp, std::vector<uint8_t> bytes) override;
  // A resource re-queued with the same id and memory keeps its imported surface.
  void queueOutput(OutputTarget target) override;
  void setOutputLayout(const buffers::FrameLayout& layout) override;
  // Waits for the decode call or copy in progress and for the GPU writes it started; pictures
  // already decoded into a cleared resource are later copied into another one (the import keeps
  // the memory alive, and libavcodec only reads references).
  std::vector<uint32_t> clearOutput() override;
  void flush() override;
  void reset() override;
  std::vector<DecoderEvent> takeEvents() override;

  static constexpr size_t kMaxDecodedFrames = 24;

 private:
  struct Input {
    uint32_t id = 0;
    uint64_t timestamp = 0;
    std::vector<uint8_t> bytes;
    bool flush = false;
  };
  enum class Drain { kNone, kFlushParser, kSendNull, kReceiving, kDone };
  struct StampedRange {
    uint64_t end = 0;
    uint64_t timestamp = 0;
  };
  // One output resource, for as long as the guest uses the same memory under its id.
  struct Slot {
    uint32_t resourceId = 0;
    std::shared_ptr<buffers::ResourceMemory> memory;  // immutable
    bool lent = false;                 // mutex_: queued and not yet returned
    std::atomic<int> decoderRefs{0};   // AVBufferRefs of its surface held by libavcodec/us
    uint64_t planGeneration = 0;       // session thread (or with busy_ clear): plan's layout
    VaTargetPlan plan;
  };
  struct SurfaceLease;  // the opaque of an imported surface's AVBufferRef

  VaapiSession(std::shared_ptr<buffers::VaDisplay> display, CodedFormat format,
               SessionOptions options, AvCodecContextPtr context);
  void start() { thread_ = std::thread([this] { run(); }); }

  static AVPixelFormat getFormat(AVCodecContext* context, const AVPixelFormat* formats);
  static int getBuffer(AVCodecContext* context, AVFrame* frame, int flags);
  static void releaseSurface(void* opaque, uint8_t* data);
  AVPixelFormat chooseFormat(AVCodecContext* context, const AVPixelFormat* formats);
  Status setUpFrames(AVCodecContext* context);
  std::shared_ptr<Slot> takeDirectSlot(const AVCodecContext& context);

  void run();
  bool step(std::unique_lock<std::mutex>& lock);
  void handleReset(std::unique_lock<std::mutex>& lock);
  bool planStep(std::unique_lock<std::mutex>& lock);
  bool deliverStep(std::unique_lock<std::mutex>& lock);
  bool deliverDirect(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Slot>& slot);
  bool deliverCopy(std::unique_lock<std::mutex>& lock);
  bool endOfStreamStep(std::unique_lock<std::mutex>& lock);
  bool decodeStep(std::unique_lock<std::mutex>& lock);
  bool failedStep();
  void fail(std::string message);
  void unlend(uint32_t resourceId);
  std::shared_ptr<Slot> slotOfFrame(const AVFrame& frame) const;
  Result<FrameGeometry> geometryOf(const AVFrame& frame) const;
  template <typename Event>
  void postLocked(Event&& event);

  // Session thread only, without the lock.
  void decodeOnce();
  bool receiveFrame();
  void sendPacket(bool receiveWasEmpty);
  void parseInput();
  void resetDecoder();
  AvPacketPtr takeParsedPacket(const uint8_t* data, int size);
  uint32_t minBuffers() const;
  PictureReady baseReady(const AVFrame& frame, uint32_t resourceId) const;

  const CodedFormat format_;
  const SessionOptions options_;
  std::shared_ptr<buffers::VaDisplay> display_;

  // Session thread only.
  AvCodecContextPtr context_;
  AvParserPtr parser_;
  VaapiOutput output_;
  std::optional<Input> current_;
  size_t currentSize_ = 0;
  size_t currentOffset_ = 0;
  AvPacketPtr pendingPacket_;
  bool needReceive_ = false;
  Drain drain_ = Drain::kNone;
  std::deque<AvFramePtr> decoded_;
  std::optional<FrameGeometry> geometry_;
  bool failed_ = false;
  bool software_ = false;         // libavcodec decodes in software (VA-API could not)
  std::vector<uint32_t> doneInputs_;
  std::deque<StampedRange> stamps_;
  uint64_t parsedIn_ = 0;
  uint64_t parsedOut_ = 0;
  uint64_t lastTimestamp_ = 0;

  std::mutex mutex_;
  std::condition_variable workCv_;  // wakes the session thread
  std::condition_variable idleCv_;  // busy_ went false (clearOutput waits)
  std::deque<Input> input_;
  std::map<uint32_t, std::shared_ptr<Slot>> slots_;
  std::deque<uint32_t> lent_;       // lent resource ids, in queue order
  std::optional<buffers::FrameLayout> layout_;
  uint64_t layoutGeneration_ = 0;   // bumped by setOutputLayout
  bool awaitingLayout_ = false;
  bool directBlocked_ = true;       // no decoding into guest surfaces until the layout fits
  bool fewBuffersLogged_ = false;
  bool busy_ = false;               // the session thread works without the lock
  int pendingResets_ = 0;
  std::vector<uint32_t> cancelledInputs_;
  bool stop_ = false;
  bool notifyPending_ = false;
  std::vector<DecoderEvent> events_;

  std::thread thread_;  // started by create() once the decoder is open
};

}  // namespace vdec::codecs
