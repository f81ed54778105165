// SPDX-License-Identifier: MIT
#include "vdec/stream.h"


#include <algorithm>
#include <cstring>

#include "buffers/guest_pages.h"
#include "buffers/resource_factory.h"
#include "vdec/base/logging.h"
#include "vdec/base/wire.h"
#include "vdec/formats.h"
#include "vdec/response.h"

namespace vdec {
namespace w = wire;

namespace {

constexpr uint32_t kDefaultWidth = 640;
constexpr uint32_t kDefaultHeight = 480;
constexpr uint32_t kDefaultBitstreamBytes = 1u << 20;
constexpr uint32_t kMaxBuffers = 32;

bool saneDimension(uint32_t value) { return value >= 16 && value <= 16384; }

// Entries of one resource must not overlap: the same guest page twice in one frame means the
// decoder would read back what it just overwrote. Returns a description of the first overlap.
std::optional<std::string> findOverlap(std::vector<buffers::GuestRange> ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const auto& a, const auto& b) {
    return a.address.value < b.address.value;
  });
  for (size_t i = 1; i < ranges.size(); ++i) {
    const auto& prev = ranges[i - 1];
    uint64_t prevEnd = 0;
    if (__builtin_add_overflow(prev.address.value, prev.length, &prevEnd)) continue;
    if (ranges[i].address.value < prevEnd) {
      return fmt::format("entries at {:#x} and {:#x} overlap", prev.address.value,
                         ranges[i].address.value);
    }
  }
  return std::nullopt;
}

}  // namespace

Stream::Stream(const StreamContext& context, uint32_t id, const StreamCreateCmd& create,
               codecs::CodedFormat format)
    : ctx_(context),
      id_(id),
      budget_(MemoryBudget::create(context.config.maxStreamMemory, context.memoryBudget)),
      codedFormat_(format),
      inputMemory_(create.inputMemory),
      outputMemory_(create.outputMemory) {
  inParams_.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
  inParams_.format = virtioFromCodedFormat(format);
  inParams_.frame_width = kDefaultWidth;
  inParams_.frame_height = kDefaultHeight;
  inParams_.min_buffers = 1;
  inParams_.max_buffers = kMaxBuffers;
  inParams_.crop = {0, 0, kDefaultWidth, kDefaultHeight};
  inParams_.num_planes = 1;
  inParams_.plane_formats[0] = {kDefaultBitstreamBytes, 0};
  recomputeOutputParams();
  logs::device().info("stream {}: created for {} ('{}')", id_, codecs::codedFormatName(format),
                      create.tag);
}

Stream::~Stream() {
  // The session's thread must stop before the resources it writes go away.
  session_.reset();
}

void Stream::respond(uint64_t tag, std::vector<std::byte> response) {
  ctx_.complete(tag, std::move(response));
}

// Guest-triggerable: logged at info level, one line per command and error per stream and
// second, with the count of those folded in.
void Stream::respondError(uint64_t tag, const Error& error, uint32_t commandType) {
  const std::string cause =
      fmt::format("{} {}", commandName(commandType), errorCodeName(error.code));
  if (auto count = logLimiter_.admit(cause)) {
    logs::device().info("stream {}: {} failed: {} ({}){}", id_, commandName(commandType),
                        error.message, errorCodeName(error.code),
                        *count > 1 ? fmt::format(" [{} times in the last second]", *count) : "");
  }
  ++ctx_.statistics.errorResponses;
  respond(tag, errorResponseFor(commandType, error.code, id_));
}

std::string Stream::budgetState() const {
  return fmt::format("stream {} of {} bytes, daemon {} of {}", budget_->used(), budget_->limit(),
                     ctx_.memoryBudget->used(), ctx_.memoryBudget->limit());
}

// Output params follow the stream format once known, the input frame size before that.
void Stream::recomputeOutputParams() {
  uint32_t width = streamFormat_ ? streamFormat_->codedWidth : inParams_.frame_width;
  uint32_t height = streamFormat_ ? streamFormat_->codedHeight : inParams_.frame_height;
  buffers::Rect visible = streamFormat_ ? streamFormat_->visible : buffers::Rect{0, 0, width, height};
  uint32_t strideAlign = 64;
  if (streamFormat_) {
    // Rows and strides the decoder needs to write straight into the guest's buffers.
    strideAlign = std::max(strideAlign, streamFormat_->strideAlign);
    height = static_cast<uint32_t>(
        std::min<uint64_t>(alignUp(height, std::max(streamFormat_->heightAlign, 2u)) +
                               streamFormat_->extraRows,
                           UINT32_MAX));
  }
  auto layout = buffers::computeFrameLayout(outputFormat_, width, height, visible, strideAlign);
  if (!layout) layout = buffers::computeFrameLayout(outputFormat_, kDefaultWidth, kDefaultHeight,
                                                    {0, 0, kDefaultWidth, kDefaultHeight});
  layout_ = *layout;
  outParams_ = {};
  outParams_.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
  outParams_.format = virtioFromPixelFormat(outputFormat_);
  outParams_.frame_width = layout_.width;
  outParams_.frame_height = layout_.height;
  outParams_.min_buffers = streamFormat_ ? std::clamp(streamFormat_->minBuffers, 1u, kMaxBuffers)
                                         : ctx_.config.openTimeMinBuffers;
  outParams_.max_buffers = kMaxBuffers;
  outParams_.crop = {layout_.visible.left, layout_.visible.top, layout_.visible.width,
                     layout_.visible.height};
  outParams_.num_planes = layout_.numPlanes;
  for (uint32_t i = 0; i < layout_.numPlanes; ++i) {
    outParams_.plane_formats[i] = {layout_.planes[i].size, layout_.planes[i].stride};
  }
}

void Stream::handle(uint64_t tag, const Command& command) {
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, StreamDrainCmd>) {
          drain(tag);
        } else if constexpr (std::is_same_v<T, ResourceCreateCmd>) {
          resourceCreate(tag, body);
        } else if constexpr (std::is_same_v<T, ResourceQueueCmd>) {
          resourceQueue(tag, body);
        } else if constexpr (std::is_same_v<T, ResourceDestroyAllCmd>) {
          clear(tag, body.queue, /*destroy=*/true);
        } else if constexpr (std::is_same_v<T, QueueClearCmd>) {
          clear(tag, body.queue, /*destroy=*/false);
        } else if constexpr (std::is_same_v<T, GetParamsCmd>) {
          getParams(tag, body);
        } else if constexpr (std::is_same_v<T, SetParamsCmd>) {
          setParams(tag, body);
        } else if constexpr (std::is_same_v<T, GetControlCmd>) {
          getControl(tag, body);
        } else if constexpr (std::is_same_v<T, SetControlCmd>) {
          respondError(tag, {ErrorCode::kUnsupported, "the decoder has no settable controls"},
                       command.type);
        } else {
          respondError(tag, {ErrorCode::kInvalidOperation, "not a stream command"}, command.type);
        }
      },
      command.body);
}

void Stream::resourceCreate(uint64_t tag, const ResourceCreateCmd& cmd) {
  const auto type = w::VIRTIO_VIDEO_CMD_RESOURCE_CREATE;
  const bool isInput = cmd.queue == QueueType::kInput;
  const bool exists = isInput ? inputs_.count(cmd.resourceId) : outputs_.count(cmd.resourceId);
  if (!exists && inputs_.size() + outputs_.size() >= ctx_.config.maxResourcesPerStream) {
    return respondError(tag, {ErrorCode::kOutOfMemory, "too many resources"}, type);
  }
  const MemoryType memoryType = isInput ? inputMemory_ : outputMemory_;
  std::shared_ptr<buffers::ResourceMemory> memory;
  // The entry table is charged before anything is built from it.
  const uint64_t tableCost =
      kResourceCost +
      (memoryType == MemoryType::kGuestPages ? uint64_t{cmd.totalEntries} : 1) * kResourceEntryCost;
  std::optional<MemoryBudget::Charge> charge = budget_->tryCharge(tableCost);
  if (!charge) {
    return respondError(tag,
                        {ErrorCode::kOutOfMemory,
                         fmt::format("resource of {} entries over the memory budget ({})",
                                     cmd.totalEntries, budgetState())},
                        type);
  }
  if (memoryType == MemoryType::kGuestPages) {
    if (cmd.guestRanges.size() != cmd.totalEntries || cmd.totalEntries == 0) {
      return respondError(tag,
                          {ErrorCode::kInvalidParameter,
                           fmt::format("{} entries sent, num_entries sum {}", cmd.guestRanges.size(),
                                       cmd.totalEntries)},
                          type);
    }
    std::vector<buffers::GuestRange> ranges = cmd.guestRanges;
    if (auto overlap = findOverlap(ranges)) {
      return respondError(tag, {ErrorCode::kInvalidParameter, *overlap}, type);
    }
    auto pages = buffers::makeGuestPagesResource(ctx_.memory, std::move(ranges),
                                                 ctx_.config.maxResourceBytes);
    if (!pages) return respondError(tag, pages.error(), type);
    memory = std::move(*pages);
  } else {
    if (ctx_.resolver == nullptr) {
      return respondError(tag,
                          {ErrorCode::kInvalidOperation,
                           "virtio objects need a front-end with SHARED_OBJECT support"},
                          type);
    }
    auto fd = ctx_.resolver->lookup(cmd.objectUuid);
    if (!fd) {
      Error error = fd.error();
      if (error.code == ErrorCode::kUnsupported) error.code = ErrorCode::kInvalidOperation;
      logs::device().warn("stream {}: resource {}: {}", id_, cmd.resourceId, error.message);
      return respondError(tag, error, type);
    }
    auto object = buffers::makeObjectResource(std::move(*fd), cmd.planeOffsets[0],
                                              ctx_.config.maxResourceBytes);
    if (!object) return respondError(tag, object.error(), type);
    memory = std::move(*object);
  }
  logs::device().debug("stream {}: {} resource {}: {} bytes of {}", id_,
                       isInput ? "input" : "output", cmd.resourceId, memory->size(),
                       memory->kind());
  if (isInput) {
    // A re-created id gets new memory; a pending queue of the old memory still completes.
    inputs_[cmd.resourceId].memory = std::move(memory);
    inputs_[cmd.resourceId].charge = std::move(*charge);
  } else {
    captureSetupPending_ = false;
    outputs_[cmd.resourceId].memory = std::move(memory);
    outputs_[cmd.resourceId].charge = std::move(*charge);
    if (session_) session_->setGuestBufferCount(static_cast<uint32_t>(outputs_.size()));
  }
  respond(tag, okNoDataResponse(id_));
}

void Stream::resourceQueue(uint64_t tag, const ResourceQueueCmd& cmd) {
  if (cmd.queue == QueueType::kInput) {
    queueInput(tag, cmd);
  } else {
    queueOutput(tag, cmd);
  }
}

Status Stream::ensureSession() {
  if (session_) return okStatus();
  // A stream costs nothing but its bookkeeping until it decodes; decoders are bounded apart.
  if (!decoderSlot_) decoderSlot_ = ctx_.decoderSlots.tryAcquire();
  if (!decoderSlot_) {
    return makeError(ErrorCode::kOutOfMemory,
                     "{} streams are already decoding (--max-decoding-streams)",
                     ctx_.decoderSlots.held());
  }
  codecs::SessionOptions options;
  options.outputFormat = outputFormat_;
  options.threads = ctx_.config.decoderThreads;
  options.threadBudget = ctx_.threadBudget;
  options.priority = ctx_.config.decoderPriority;
  options.forceBounce = ctx_.config.forceBounce;
  options.notify = ctx_.wakeDevice;
  options.memoryBudget = budget_;
  VDEC_ASSIGN_OR_RETURN(session_, ctx_.backend.createSession(codedFormat_, options));
  logs::device().info("stream {}: {} decoder session started ({} backend)", id_,
                      codecs::codedFormatName(codedFormat_), ctx_.backend.name());
  return okStatus();
}

void Stream::queueInput(uint64_t tag, const ResourceQueueCmd& cmd) {
  const auto type = w::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE;
  auto it = inputs_.find(cmd.resourceId);
  if (it == inputs_.end()) {
    return respondError(tag, {ErrorCode::kInvalidResourceId, "unknown input resource"}, type);
  }
  if (it->second.pendingInput) {
    return respondError(tag, {ErrorCode::kInvalidParameter, "input resource already queued"},
                        type);
  }
  const uint32_t size = cmd.numDataSizes > 0 ? cmd.dataSizes[0] : 0;
  if (size > it->second.memory->size() || size > ctx_.config.maxBitstreamBytes) {
    return respondError(tag,
                        {ErrorCode::kInvalidParameter,
                         fmt::format("data size {} exceeds resource ({} bytes) or limit", size,
                                     it->second.memory->size())},
                        type);
  }
  if (size == 0 || failed_) {
    // Nothing to decode (or the stream is dead): give the buffer straight back.
    return respond(tag, resourceQueueResponse(id_, cmd.timestamp, 0, 0));
  }
  // What the copy and its queue entries will cost, checked and charged before they exist.
  const uint64_t cost = uint64_t{size} + kInputEntryCost;
  if (pendingInputBytes_ + cost > ctx_.config.maxPendingInputBytes ||
      pendingInputs_.size() >= ctx_.config.maxPendingInputs) {
    return respondError(
        tag,
        {ErrorCode::kOutOfMemory,
         fmt::format("{} inputs ({} bytes) already waiting (limits {}, {})", pendingInputs_.size(),
                     pendingInputBytes_, ctx_.config.maxPendingInputs,
                     ctx_.config.maxPendingInputBytes)},
        type);
  }
  std::optional<MemoryBudget::Charge> charge = budget_->tryCharge(cost);
  if (!charge) {
    return respondError(tag,
                        {ErrorCode::kOutOfMemory,
                         fmt::format("input of {} bytes over the memory budget ({})", size,
                                     budgetState())},
                        type);
  }
  if (auto status = ensureSession(); !status) {
    failed_ = true;
    ctx_.queueEvent(w::VIRTIO_VIDEO_EVENT_ERROR, id_);
    return respondError(tag, status.error(), type);
  }
  // Copy once, then decode the copy: the guest may rewrite its buffer at any time.
  std::vector<uint8_t> bytes(size);
  auto read = it->second.memory->read(0, std::as_writable_bytes(std::span(bytes)));
  if (!read) return respondError(tag, read.error(), type);
  const uint32_t seq = nextInputSeq_++;
  pendingInputs_.emplace(
      seq, PendingInput{cmd.resourceId, tag, cmd.timestamp, cost, std::move(*charge)});
  pendingInputBytes_ += cost;
  it->second.pendingInput = seq;
  session_->decode(seq, cmd.timestamp, std::move(bytes));
  lendPendingOutputs();
}

void Stream::queueOutput(uint64_t tag, const ResourceQueueCmd& cmd) {
  const auto type = w::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE;
  auto it = outputs_.find(cmd.resourceId);
  if (it == outputs_.end()) {
    return respondError(tag, {ErrorCode::kInvalidResourceId, "unknown output resource"}, type);
  }
  if (it->second.pendingTag) {
    return respondError(tag, {ErrorCode::kInvalidParameter, "output resource already queued"},
                        type);
  }
  if (failed_) return respond(tag, resourceQueueResponse(id_, 0, w::VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0));
  it->second.pendingTag = tag;
  // The guest has read the new params and queues buffers for them: the layout is acknowledged.
  if (streamFormat_ && resolution_ != ResolutionState::kEventSent && !captureSetupPending_ &&
      (!sessionLayout_ || *sessionLayout_ != layout_) && session_) {
    sessionLayout_ = layout_;
    resolution_ = ResolutionState::kNone;
    session_->setGuestBufferCount(static_cast<uint32_t>(outputs_.size()));
    session_->setOutputLayout(layout_);
    logs::device().info("stream {}: output layout {} {}x{} (visible {}x{} at {},{}), {} bytes",
                        id_, buffers::pixelFormatName(layout_.format), layout_.width,
                        layout_.height, layout_.visible.width, layout_.visible.height,
                        layout_.visible.left, layout_.visible.top, layout_.totalSize());
  }
  lendPendingOutputs();
}

void Stream::lendPendingOutputs() {
  if (!session_) return;
  for (auto& [id, output] : outputs_) {
    if (output.pendingTag && !output.lent) {
      output.lent = true;
      session_->queueOutput({id, output.memory});
    }
  }
}

void Stream::drain(uint64_t tag) {
  const auto type = w::VIRTIO_VIDEO_CMD_STREAM_DRAIN;
  if (drainTag_) return respondError(tag, {ErrorCode::kInvalidOperation, "already draining"}, type);
  if (!session_) {
    return respondError(tag, {ErrorCode::kInvalidOperation, "nothing was decoded yet"}, type);
  }
  drainTag_ = tag;
  session_->flush();
}

void Stream::completeOutput(uint32_t resourceId, uint64_t timestamp, uint32_t flags,
                            uint32_t size) {
  auto it = outputs_.find(resourceId);
  if (it == outputs_.end() || !it->second.pendingTag) return;
  respond(*it->second.pendingTag, resourceQueueResponse(id_, timestamp, flags, size));
  it->second.pendingTag.reset();
  it->second.lent = false;
}

void Stream::returnOutputsWithError() {
  for (auto& [id, output] : outputs_) {
    if (output.pendingTag) completeOutput(id, 0, w::VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0);
  }
}

void Stream::clear(uint64_t tag, QueueType queue, bool destroy) {
  if (queue == QueueType::kOutput) {
    captureSetupPending_ = false;
    if (clearOutputTag_) {
      return respondError(tag, {ErrorCode::kInvalidOperation, "output clear already pending"},
                          destroy ? w::VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL
                                  : w::VIRTIO_VIDEO_CMD_QUEUE_CLEAR);
    }
    if (!session_) {
      returnOutputsWithError();
      if (destroy) outputs_.clear();
      return respond(tag, okNoDataResponse(id_));
    }
    // Answered on OutputCleared, once the session no longer writes any lent buffer: pictures it
    // finishes before that are still delivered, in order, ahead of the error returns. The device
    // thread does not wait.
    clearOutputTag_ = tag;
    clearOutputDestroys_ = destroy;
    session_->clearOutput();
    return;
  }
  if (destroy) {
    // Input bytes were copied when queued: the pages are not touched again. The guest gets its
    // buffers back now; the copies still decode.
    // The copies stay in the decoder and keep counting against the limit until consumed.
    // Only the resources are walked (at most maxResourcesPerStream), never pendingInputs_,
    // which keeps the answered entries a guest can pile up.
    // They are answered in the order they were queued.
    std::vector<uint32_t> unanswered;
    for (const auto& [id, input] : inputs_) {
      if (input.pendingInput) unanswered.push_back(*input.pendingInput);
    }
    std::sort(unanswered.begin(), unanswered.end());
    for (uint32_t seq : unanswered) {
      auto pending = pendingInputs_.find(seq);
      if (pending == pendingInputs_.end() || pending->second.answered) continue;
      respond(pending->second.tag, resourceQueueResponse(id_, pending->second.timestamp,
                                                         w::VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0));
      pending->second.answered = true;
    }
    inputs_.clear();
    return respond(tag, okNoDataResponse(id_));
  }
  if (clearInputTag_) {
    return respondError(tag, {ErrorCode::kInvalidOperation, "input clear already pending"},
                        w::VIRTIO_VIDEO_CMD_QUEUE_CLEAR);
  }
  clearInputBoundary_ = nextInputSeq_;
  if (!session_) {
    onResetDone();
    return respond(tag, okNoDataResponse(id_));
  }
  clearInputTag_ = tag;
  session_->reset();
}

// The reset dropped the copies of every input queued before the clear: they go back with ERR and
// stop counting. Inputs queued after it are still decoded and answered as usual.
void Stream::onResetDone() {
  for (auto it = pendingInputs_.begin();
       it != pendingInputs_.end() && it->first < clearInputBoundary_;) {
    PendingInput& pending = it->second;
    if (!pending.answered) {
      respond(pending.tag,
              resourceQueueResponse(id_, pending.timestamp, w::VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0));
      if (auto in = inputs_.find(pending.resourceId);
          in != inputs_.end() && in->second.pendingInput == it->first) {
        in->second.pendingInput.reset();
      }
    }
    pendingInputBytes_ -= pending.cost;
    it = pendingInputs_.erase(it);
  }
  if (drainTag_) {
    respond(*drainTag_, errorResponse(ErrorCode::kInvalidOperation, id_));
    drainTag_.reset();
  }
  if (clearInputTag_) {
    respond(*clearInputTag_, okNoDataResponse(id_));
    clearInputTag_.reset();
  }
}

void Stream::onOutputCleared(const std::vector<uint32_t>& resourceIds) {
  for (uint32_t id : resourceIds) completeOutput(id, 0, w::VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0);
  if (!clearOutputTag_) return;
  if (clearOutputDestroys_) {
    std::erase_if(outputs_, [](const auto& entry) { return !entry.second.pendingTag; });
  }
  respond(*std::exchange(clearOutputTag_, std::nullopt), okNoDataResponse(id_));
}

void Stream::getParams(uint64_t tag, const GetParamsCmd& cmd) {
  const bool input = cmd.queue == QueueType::kInput;
  const w::virtio_video_params& params = input ? inParams_ : outParams_;
  if (!input && resolution_ == ResolutionState::kEventSent) {
    resolution_ = ResolutionState::kParamsRead;
  }
  if (cmd.extended) {
    w::virtio_video_get_params_ext_resp resp{};
    resp.hdr = {w::VIRTIO_VIDEO_RESP_OK_GET_PARAMS, id_};
    resp.params.base = params;
    const MemoryType memory = input ? inputMemory_ : outputMemory_;
    resp.params.resource_type = memory == MemoryType::kGuestPages
                                    ? w::VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES
                                    : w::VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
    return respond(tag, toBytes(resp));
  }
  w::virtio_video_get_params_resp resp{};
  resp.hdr = {w::VIRTIO_VIDEO_RESP_OK_GET_PARAMS, id_};
  resp.params = params;
  respond(tag, toBytes(resp));
}

// The guest's SET_PARAMS is a request: every field is sanitized; junk means "keep".
void Stream::setParams(uint64_t tag, const SetParamsCmd& cmd) {
  const auto& p = cmd.params;
  std::optional<MemoryType> memory;
  if (cmd.extended) {
    if (cmd.resourceType == w::VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES) memory = MemoryType::kGuestPages;
    if (cmd.resourceType == w::VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT) {
      memory = MemoryType::kVirtioObject;
    }
  }
  if (cmd.queue == QueueType::kInput) {
    if (auto format = codedFormatFromVirtio(p.format); format && !session_) {
      codedFormat_ = *format;
      inParams_.format = p.format;
    }
    if (saneDimension(p.frame_width) && saneDimension(p.frame_height)) {
      inParams_.frame_width = p.frame_width;
      inParams_.frame_height = p.frame_height;
      inParams_.crop = {0, 0, p.frame_width, p.frame_height};
    }
    const uint32_t planeSize = p.plane_formats[0].plane_size;
    if (p.num_planes >= 1 && planeSize >= 4096 && planeSize <= ctx_.config.maxBitstreamBytes) {
      inParams_.plane_formats[0].plane_size = planeSize;
    }
    if (memory) inputMemory_ = *memory;
  } else {
    const bool outputsBusy = std::any_of(outputs_.begin(), outputs_.end(),
                                         [](const auto& o) { return o.second.pendingTag.has_value(); });
    if (auto format = pixelFormatFromVirtio(p.format); format && !outputsBusy) {
      outputFormat_ = *format;
    }
    if (memory) outputMemory_ = *memory;
  }
  recomputeOutputParams();
  respond(tag, okNoDataResponse(id_));
}

std::optional<uint32_t> Stream::statisticsControl(uint32_t control) const {
  auto value = statistics_.control(control, UINT32_MAX);
  if (!value) return std::nullopt;
  return static_cast<uint32_t>(*value);
}

void Stream::getControl(uint64_t tag, const GetControlCmd& cmd) {
  const auto type = w::VIRTIO_VIDEO_CMD_GET_CONTROL;
  std::optional<uint32_t> value = statisticsControl(cmd.control);
  for (const auto& codec : ctx_.backend.capabilities()) {
    if (codec.format != codedFormat_) continue;
    if (cmd.control == w::VIRTIO_VIDEO_CONTROL_PROFILE && !codec.profiles.empty()) {
      value = virtioFromProfile(codec.profiles.front());
    }
    if (cmd.control == w::VIRTIO_VIDEO_CONTROL_LEVEL && !codec.levels.empty()) {
      value = virtioFromLevel(codec.levels.back());
    }
  }
  if (!value) {
    return respondError(tag, {ErrorCode::kUnsupported, "control not available"}, type);
  }
  w::virtio_video_get_control_resp resp{};
  resp.hdr = {w::VIRTIO_VIDEO_RESP_OK_GET_CONTROL, id_};
  resp.value = *value;
  respond(tag, toBytes(resp));
}

void Stream::onFormatChanged(const codecs::StreamFormat& format) {
  streamFormat_ = format;
  inParams_.frame_width = format.codedWidth;
  inParams_.frame_height = format.codedHeight;
  inParams_.crop = {format.visible.left, format.visible.top, format.visible.width,
                    format.visible.height};
  recomputeOutputParams();
  resolution_ = ResolutionState::kEventSent;
  captureSetupPending_ = sessionLayout_.has_value();
  logs::device().info("stream {}: resolution {}x{} (visible {}x{}), needs {} output buffers", id_,
                      format.codedWidth, format.codedHeight, format.visible.width,
                      format.visible.height, outParams_.min_buffers);
  ctx_.queueEvent(w::VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED, id_);
}

void Stream::onPicture(const codecs::PictureReady& picture) {
  uint32_t flags = 0;
  uint32_t size = 0;
  if (picture.endOfStream) {
    flags = w::VIRTIO_VIDEO_BUFFER_FLAG_EOS;
  } else {
    size = static_cast<uint32_t>(sessionLayout_ ? sessionLayout_->totalSize() : 0);
    if (picture.error) flags = w::VIRTIO_VIDEO_BUFFER_FLAG_ERR;
    statistics_.count(picture);
    ++ctx_.statistics.frames;
    ctx_.statistics.bytesCopied += picture.bytesCopied;
  }
  SPDLOG_LOGGER_TRACE(&logs::device(), "stream {}: picture in resource {} ts={} flags={:#x}", id_,
                      picture.resourceId, picture.timestamp, flags);
  completeOutput(picture.resourceId, picture.timestamp, flags, size);
}

void Stream::processSessionEvents() {
  if (!session_) return;
  for (auto& event : session_->takeEvents()) {
    std::visit(
        [&](auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, codecs::InputDone>) {
            auto it = pendingInputs_.find(e.inputId);
            if (it == pendingInputs_.end()) return;  // already returned (clear)
            if (!it->second.answered) {
              respond(it->second.tag, resourceQueueResponse(id_, it->second.timestamp, 0, 0));
              if (auto in = inputs_.find(it->second.resourceId);
                  in != inputs_.end() && in->second.pendingInput == it->first) {
                in->second.pendingInput.reset();
              }
            }
            pendingInputBytes_ -= it->second.cost;
            pendingInputs_.erase(it);
          } else if constexpr (std::is_same_v<T, codecs::FormatChanged>) {
            onFormatChanged(e.format);
          } else if constexpr (std::is_same_v<T, codecs::PictureReady>) {
            onPicture(e);
          } else if constexpr (std::is_same_v<T, codecs::FlushDone>) {
            if (drainTag_) {
              respond(*drainTag_, okNoDataResponse(id_));
              drainTag_.reset();
            }
            logs::device().info("stream {}: drained", id_);
          } else if constexpr (std::is_same_v<T, codecs::ResetDone>) {
            onResetDone();
          } else if constexpr (std::is_same_v<T, codecs::OutputCleared>) {
            onOutputCleared(e.resourceIds);
          } else if constexpr (std::is_same_v<T, codecs::StreamError>) {
            logs::device().error("stream {}: decoding failed: {}", id_, e.message);
            failed_ = true;
            ctx_.queueEvent(w::VIRTIO_VIDEO_EVENT_ERROR, id_);
          }
        },
        event);
  }
}

void Stream::cancelAll() {
  session_.reset();  // joins the decoding thread: no more writes into guest buffers
  for (auto& [seq, pending] : pendingInputs_) {
    if (pending.answered) continue;
    respond(pending.tag,
            resourceQueueResponse(id_, pending.timestamp, w::VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0));
  }
  pendingInputs_.clear();
  pendingInputBytes_ = 0;
  returnOutputsWithError();
  if (drainTag_) respond(*drainTag_, errorResponse(ErrorCode::kInvalidOperation, id_));
  if (clearInputTag_) respond(*clearInputTag_, errorResponse(ErrorCode::kInvalidOperation, id_));
  // Every output buffer is back (with ERR): the clear itself has happened.
  if (clearOutputTag_) respond(*clearOutputTag_, okNoDataResponse(id_));
  drainTag_.reset();
  clearInputTag_.reset();
  clearOutputTag_.reset();
  logs::device().info(
      "stream {}: ended after {} frames ({} direct, {} bounce, {} damaged), {} bytes copied "
      "({} per frame)",
      id_, statistics_.frames, statistics_.directFrames, statistics_.bounceFrames,
      statistics_.errorFrames, statistics_.bytesCopied,
      statistics_.frames ? statistics_.bytesCopied / statistics_.frames : 0);
}

}  // namespace vdec
