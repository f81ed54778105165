// SPDX-License-Identifier: MIT
// Stream: one decoding stream's state machine, resources and pending commands.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "buffers/frame_layout.h"
#include "buffers/resource_memory.h"
#include "codecs/coded_format.h"
#include "codecs/decoder_session.h"
#include "vdec/base/log_limiter.h"
#include "vdec/base/memory_budget.h"
#include "vdec/command.h"
#include "vdec/protocol/virtio_video.h"
#include "vdec/stream_context.h"
#include "vdec/stream_statistics.h"

namespace vdec {

// Lifecycle (guest view):
//   STREAM_CREATE -> SET/GET_PARAMS_EXT -> RESOURCE_CREATE(INPUT) -> RESOURCE_QUEUE(INPUT)...
//   -> [session created; first picture] -> RESOLUTION_CHANGED event -> GET_PARAMS_EXT x2
//   -> QUEUE_CLEAR/DESTROY_ALL(OUTPUT) -> RESOURCE_CREATE(OUTPUT) -> RESOURCE_QUEUE(OUTPUT)...
//   -> [layout acknowledged, pictures flow] -> STREAM_DRAIN -> EOS buffer -> STREAM_DESTROY.
// Threads: device thread only. The decoder session decodes on its own thread.
// Memory rule: a resource's memory is written only while a RESOURCE_QUEUE for it is pending.
class Stream {
 public:
  // `context` must outlive the stream (the device owns both).
  Stream(const StreamContext& context, uint32_t id, const StreamCreateCmd& create,
         codecs::CodedFormat format);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  uint32_t id() const { return id_; }

  // Executes a command addressed to this stream; answers through the device.
  void handle(uint64_t tag, const Command& command);
  // Consumes the session's events (pictures, input returned, format changes, flush/reset).
  void processSessionEvents();
  // STREAM_DESTROY / disconnect: stops decoding, completes every pending command with an error.
  void cancelAll();

  using Statistics = StreamStatistics;
  const Statistics& statistics() const { return statistics_; }
  // What this stream holds against its memory budget (DeviceConfig::maxStreamMemory).
  const MemoryBudget& memoryBudget() const { return *budget_; }

  // Host memory one queued input costs besides its bytes: its PendingInput entry, the session's
  // queue entry and the copy's heap block (~185 bytes measured, rounded up). Charged against
  // maxPendingInputBytes and the memory budget, so 1-byte inputs cannot hold 64 Mi entries.
  static constexpr uint64_t kInputEntryCost = 256;
  // Host memory of one resource's entry table, per guest entry (the range, its window pieces)
  // and per resource (its table entry and memory object).
  static constexpr uint64_t kResourceEntryCost = 64;
  static constexpr uint64_t kResourceCost = 1024;

 private:
  struct InputResource {
    std::shared_ptr<buffers::ResourceMemory> memory;
    MemoryBudget::Charge charge;           // its entry table
    std::optional<uint32_t> pendingInput;  // the sequence number of its unanswered queue
  };
  struct OutputResource {
    std::shared_ptr<buffers::ResourceMemory> memory;
    MemoryBudget::Charge charge;         // its entry table
    std::optional<uint64_t> pendingTag;  // RESOURCE_QUEUE waiting for a picture
    bool lent = false;                   // handed to the session
  };
  struct PendingInput {
    uint32_t resourceId;
    uint64_t tag;
    uint64_t timestamp;
    uint64_t cost;                // its bytes plus kInputEntryCost
    MemoryBudget::Charge charge;  // `cost`, given back when the entry goes
    bool answered = false;  // returned to the guest early (DESTROY_ALL); the copy still decodes
  };
  enum class ResolutionState { kNone, kEventSent, kParamsRead };

  void resourceCreate(uint64_t tag, const ResourceCreateCmd& cmd);
  void resourceQueue(uint64_t tag, const ResourceQueueCmd& cmd);
  void queueInput(uint64_t tag, const ResourceQueueCmd& cmd);
  void queueOutput(uint64_t tag, const ResourceQueueCmd& cmd);
  void drain(uint64_t tag);
  void clear(uint64_t tag, QueueType queue, bool destroy);
  void getParams(uint64_t tag, const GetParamsCmd& cmd);
  void setParams(uint64_t tag, const SetParamsCmd& cmd);
  void getControl(uint64_t tag, const GetControlCmd& cmd);
  std::optional<uint32_t> statisticsControl(uint32_t control) const;

  Status ensureSession();
  void lendPendingOutputs();
  void returnOutputsWithError();
  void completeOutput(uint32_t resourceId, uint64_t timestamp, uint32_t flags, uint32_t size);
  void onFormatChanged(const codecs::StreamFormat& format);
  void onPicture(const codecs::PictureReady& picture);
  void onResetDone();
  void onOutputCleared(const std::vector<uint32_t>& resourceIds);
  void recomputeOutputParams();
  void respond(uint64_t tag, std::vector<std::byte> response);
  void respondError(uint64_t tag, const Error& error, uint32_t commandType);
  // What the stream and the daemon hold of their memory budgets, for error messages.
  std::string budgetState() const;

  const StreamContext& ctx_;
  const uint32_t id_;
  // This stream's share of the daemon's budget; shared with the session (host pictures).
  const std::shared_ptr<MemoryBudget> budget_;
  codecs::CodedFormat codedFormat_;
  MemoryType inputMemory_;
  MemoryType outputMemory_;
  buffers::PixelFormat outputFormat_ = buffers::PixelFormat::kNv12;
  wire::virtio_video_params inParams_{};
  wire::virtio_video_params outParams_{};
  buffers::FrameLayout layout_{};                    // announced in GET_PARAMS(OUTPUT)
  std::optional<buffers::FrameLayout> sessionLayout_;  // what the session writes
  std::optional<codecs::StreamFormat> streamFormat_;
  ResolutionState resolution_ = ResolutionState::kNone;
  // A resolution change after a layout was in use: the guest must set CAPTURE up again
  // (QUEUE_CLEAR or RESOURCE_DESTROY_ALL or RESOURCE_CREATE on the output queue, i.e.
  // STREAMOFF/REQBUFS as dev-decoder.rst asks) before the new layout counts as acknowledged;
  // re-queuing the old buffers alone does not.
  bool captureSetupPending_ = false;

  // Declared before session_: the place is given back only after the session has stopped.
  std::optional<SlotCounter::Slot> decoderSlot_;
  std::unique_ptr<codecs::DecoderSession> session_;
  std::map<uint32_t, InputResource> inputs_;
  std::map<uint32_t, OutputResource> outputs_;
  std::map<uint32_t, PendingInput> pendingInputs_;  // by decode sequence number
  uint32_t nextInputSeq_ = 1;
  uint64_t pendingInputBytes_ = 0;  // sum of PendingInput::cost
  std::optional<uint64_t> drainTag_;
  std::optional<uint64_t> clearInputTag_;
  // Inputs numbered below this were queued before the pending QUEUE_CLEAR(INPUT): the reset
  // cancels them; later ones are still decoded (and stay counted).
  uint32_t clearInputBoundary_ = 0;
  LogLimiter logLimiter_;  // guest-triggered error lines
  std::optional<uint64_t> clearOutputTag_;  // QUEUE_CLEAR / DESTROY_ALL(OUTPUT) in progress
  bool clearOutputDestroys_ = false;        // ... and it is a DESTROY_ALL
  bool failed_ = false;  // an EVENT_ERROR was sent; the stream decodes nothing more
  Statistics statistics_;
};

}  // namespace vdec
