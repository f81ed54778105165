// SPDX-License-Identifier: MIT
// MediaSession: one virtio-media session, a V4L2 stateful decoder (dev-decoder.rst) over one
// codecs::DecoderSession.
#pragma once

#include <linux/videodev2.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "buffers/frame_layout.h"
#include "buffers/resource_memory.h"
#include "codecs/coded_format.h"
#include "codecs/decoder_session.h"
#include "vdec/base/log_limiter.h"
#include "vdec/base/memory_budget.h"
#include "vdec/media/media_command.h"
#include "vdec/media/media_session_context.h"
#include "vdec/media/v4l2_formats.h"
#include "vdec/stream_statistics.h"

namespace vdec::media {

// What an ioctl answers: a positive errno or 0, and the device-writable payload (may be empty
// on failure: the driver then keeps its own copy).
struct IoctlReply {
  uint32_t status = 0;
  std::vector<std::byte> payload;
};

// Queues (guest view, dev-decoder.rst):
//   OUTPUT (bitstream): S_FMT(codec) -> REQBUFS -> QBUF... -> STREAMON: inputs decode; each comes
//     back as a DQBUF event once consumed.
//   CAPTURE (frames): after SOURCE_CHANGE: G_FMT -> REQBUFS(n >= MIN_BUFFERS_FOR_CAPTURE) -> QBUF
//     -> STREAMON: the layout goes to the decoder, buffers are lent to it, pictures come back as
//     DQBUF events. Drain: DECODER_CMD(STOP) -> ... -> empty CAPTURE buffer with FLAG_LAST (+EOS).
//   Resolution change: SOURCE_CHANGE, then (CAPTURE streaming) an empty LAST buffer after the
//     old pictures; the client sets CAPTURE up again. Seek: STREAMOFF(OUTPUT) drops queued inputs (decoder reset).
// Memory: USERPTR (SHARED_PAGES: guest pages) and DMABUF (VIRTIO_OBJECT: resolved UUIDs); MMAP is
// refused with EINVAL (no shared memory region). A CAPTURE buffer's memory is written only while
// it is queued: STREAMOFF(CAPTURE) is answered once the decoder gave every lent buffer back.
// Threads: device thread only. The decoder session decodes on its own thread.
class MediaSession {
 public:
  MediaSession(const MediaSessionContext& context, uint32_t id);
  ~MediaSession();
  MediaSession(const MediaSession&) = delete;
  MediaSession& operator=(const MediaSession&) = delete;

  uint32_t id() const { return id_; }
  bool failed() const { return failed_; }
  // What this session decoded; G_CTRL/G_EXT_CTRLS read it through the private controls
  // VDEC_CONTROL_STATS_* (V4L2_CID_PRIVATE_BASE + 1..5, virtio-video's ids).
  const StreamStatistics& statistics() const { return statistics_; }

  // Executes one ioctl. Returns its reply, or nullopt when it is answered later through
  // MediaSessionContext::complete(tag, ...) with a full IOCTL response.
  std::optional<IoctlReply> handleIoctl(uint64_t tag, const IoctlCmd& ioctl);
  // Consumes the decoder session's events.
  void processSessionEvents();
  // CLOSE / device reset: stops decoding; a deferred ioctl is answered (success: the buffers are
  // no longer written).
  void close();

  static constexpr uint32_t kMaxBuffers = 32;  // per queue
  static constexpr uint64_t kInputEntryCost = 256;  // as Stream::kInputEntryCost
  // A buffer's memory object and its entry table, per buffer and per SG entry (as Stream's
  // kResourceCost and kResourceEntryCost), charged to the session's memory budget.
  static constexpr uint64_t kBufferCost = 1024;
  static constexpr uint64_t kBufferEntryCost = 64;

 private:
  struct BufferSlot {
    bool queued = false;  // owned by the device (QBUF until DQBUF event or STREAMOFF)
    bool lent = false;    // CAPTURE: handed to the decoder
    wire::v4l2_buffer buffer{};  // as last queued, for the DQBUF event
    std::vector<wire::v4l2_plane> planes;
    std::vector<buffers::GuestRange> pages;  // what `memory` was made from
    buffers::Uuid object{};
    std::shared_ptr<buffers::ResourceMemory> memory;
    MemoryBudget::Charge charge;  // what `memory` holds (kBufferCost, kBufferEntryCost)
    std::optional<uint32_t> inputSeq;  // OUTPUT: the decode() it is waiting for
  };
  struct Queue {
    uint32_t type = 0;    // buffer type of the last REQBUFS/CREATE_BUFS
    uint32_t memory = 0;  // V4L2_MEMORY_* of the buffers
    bool streaming = false;
    std::vector<BufferSlot> slots;
  };
  struct PendingInput {
    uint32_t index;
    uint64_t timestamp;
    uint64_t cost;
    MemoryBudget::Charge charge;
    bool dropped = false;  // STREAMOFF(OUTPUT): no DQBUF for it
  };
  struct HeldInput {  // copied at QBUF, decoded once OUTPUT streams and no drain stopped it
    uint32_t seq;
    std::vector<uint8_t> bytes;
  };
  enum class Drain { kNone, kDraining, kStopped };

  // media_session_formats.cpp: formats, selection, controls, events subscription.
  IoctlReply enumFormat(const std::vector<std::byte>& payload);
  IoctlReply enumFrameSizes(const std::vector<std::byte>& payload);
  IoctlReply getFormat(const std::vector<std::byte>& payload);
  IoctlReply setFormat(const std::vector<std::byte>& payload, bool apply);
  IoctlReply selection(const std::vector<std::byte>& payload, bool set);
  IoctlReply queryControl(const std::vector<std::byte>& payload);
  IoctlReply queryExtControl(const std::vector<std::byte>& payload);
  IoctlReply queryMenu(const std::vector<std::byte>& payload);
  IoctlReply getControl(const std::vector<std::byte>& payload);
  IoctlReply extControls(const MediaExtControls& controls, bool get);
  IoctlReply subscribe(const std::vector<std::byte>& payload, bool subscribe);
  IoctlReply streamParams(const std::vector<std::byte>& payload);
  std::optional<int64_t> controlValue(uint32_t id) const;
  buffers::FrameLayout captureLayout() const;
  uint32_t minCaptureBuffers() const;

  // media_session.cpp: buffers, streaming, decoding.
  std::optional<IoctlReply> requestBuffers(uint64_t tag, const std::vector<std::byte>& payload);
  IoctlReply createBuffers(const std::vector<std::byte>& payload);
  IoctlReply queryBuffer(const MediaBufferPayload& payload);
  IoctlReply queueBuffer(const MediaBufferPayload& payload, bool prepareOnly);
  std::optional<IoctlReply> stream(uint64_t tag, const std::vector<std::byte>& payload, bool on);
  IoctlReply decoderCommand(const std::vector<std::byte>& payload, bool tryOnly);
  Queue* queueFor(uint32_t type);
  Status attachMemory(BufferSlot& slot, uint32_t memory, const MediaBufferPayload& payload,
                      uint64_t length);
  Result<std::vector<uint8_t>> copyInput(BufferSlot& slot, const MediaBufferPayload& payload);
  std::vector<std::byte> bufferReply(const MediaBufferPayload& request, const Queue& queue,
                                     uint32_t index) const;
  Status ensureSession();
  void submitHeldInputs();
  void applyLayoutAndLend();
  void lendQueuedCaptures();
  // Stops CAPTURE: nullopt if the answer waits for OutputCleared (tag kept).
  bool stopCapture(std::optional<uint64_t> tag);
  void stopOutput();
  // OUTPUT buffers leave the device without DQBUF (STREAMOFF, REQBUFS): held copies are freed,
  // copies in the decoder are marked dropped.
  void dropOutputBuffers();
  void onFormatChanged(const codecs::StreamFormat& format);
  void onPicture(const codecs::PictureReady& picture);
  void onInputDone(uint32_t seq);
  void onOutputCleared(const std::vector<uint32_t>& ids);
  void returnLastBuffer();  // an empty CAPTURE buffer with FLAG_LAST, now or at the next QBUF
  void sendDqbuf(const Queue& queue, uint32_t index, uint32_t bytesUsed, uint32_t flags,
                 uint64_t timestamp);
  void sendEvent(uint32_t type, uint32_t changes);
  void fail(const std::string& why);
  IoctlReply error(uint32_t errnoValue, const std::string& why);

  const MediaSessionContext& ctx_;
  const uint32_t id_;
  const std::shared_ptr<MemoryBudget> budget_;
  CodedQueueFormat coded_;
  buffers::PixelFormat pixelFormat_ = buffers::PixelFormat::kNv12;
  std::optional<codecs::StreamFormat> streamFormat_;  // from the last FormatChanged
  std::optional<buffers::FrameLayout> sessionLayout_;  // told to the decoder
  bool subscribedSourceChange_ = false;
  bool subscribedEos_ = false;
  uint32_t eventSequence_ = 0;
  uint32_t captureSequence_ = 0;
  uint32_t outputSequence_ = 0;
  Queue output_;
  Queue capture_;
  Drain drain_ = Drain::kNone;
  bool lastBufferOwed_ = false;       // FLAG_LAST goes to the next queued CAPTURE buffer
  bool resolutionClearPending_ = false;  // clearOutput() for a resolution change
  std::optional<uint64_t> streamOffTag_;  // STREAMOFF/REQBUFS(CAPTURE) waiting for OutputCleared
  bool streamOffReqbufsZero_ = false;    // ... and it is a REQBUFS(0): slots go too
  std::map<uint32_t, PendingInput> pendingInputs_;  // by decode sequence number
  std::deque<HeldInput> heldInputs_;
  uint32_t nextInputSeq_ = 1;
  uint64_t pendingInputBytes_ = 0;
  uint32_t resetBoundary_ = 0;  // inputs below it were dropped by a reset
  std::optional<SlotCounter::Slot> decoderSlot_;  // before session_: freed after it stops
  std::unique_ptr<codecs::DecoderSession> session_;
  bool failed_ = false;
  StreamStatistics statistics_;
  LogLimiter logLimiter_;
};

}  // namespace vdec::media
