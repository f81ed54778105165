// SPDX-License-Identifier: MIT
// CommandEventDevice: the queue plumbing of a device with a command queue and an event queue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "vdec/base/memory_budget.h"
#include "virtio/virtio_device.h"
#include "virtio/virtqueue.h"

namespace vdec::virtio {

// virtio-video and virtio-media share this shape: queue 0 carries commands (readable request,
// writable response), answered now or later; queue 1 carries device-writable event buffers.
// This class turns descriptor chains into (tag, request bytes) calls and responses/events back
// into used entries; a subclass supplies the device. Malformed chains, chains without a
// writable part (unless the subclass takes commands without a response:
// acceptsCommandsWithoutResponse()) and requests over maxRequestBytes are completed with length
// 0 at once.
//
// A pending command keeps its chain's writable spans (up to kMaxChainDescriptors, 16 bytes each)
// until it is answered; the readable spans are dropped once the request is copied. What it holds
// is charged to the daemon's MemoryBudget before it is kept (kPendingCommandCost plus the
// spans); a command over the budget is answered at once with rejectedResponse() (the protocol's
// out-of-memory error) and never reaches the device. A command without a writable part (which
// only acceptsCommandsWithoutResponse() devices get) is never refused.
//
// Event buffers stay in the avail ring until an event is ready, so nothing is lost when the
// ring is stopped and restarted. Responses that complete while the command queue is stopped
// wait until it runs again. Thread: the server's loop thread (as VirtioDevice).
class CommandEventDevice : public VirtioDevice {
 public:
  static constexpr uint32_t kCommandQueue = 0;
  static constexpr uint32_t kEventQueue = 1;
  static constexpr size_t kDefaultMaxRequestBytes = 4u << 20;

  struct Response {
    uint64_t tag = 0;
    std::vector<std::byte> bytes;
  };

  // Host memory of one pending command besides its spans (its map entry, the chain, the tag).
  static constexpr uint64_t kPendingCommandCost = 256;

  // `budget` (may be null: nothing charged) is charged with every pending command.
  explicit CommandEventDevice(size_t maxRequestBytes = kDefaultMaxRequestBytes,
                              std::shared_ptr<MemoryBudget> budget = nullptr)
      : maxRequestBytes_(maxRequestBytes), budget_(std::move(budget)) {}

  uint32_t numQueues() const final { return 2; }
  void onQueueKick(uint32_t index, QueueTable queues) final;
  void onNotify(QueueTable queues) final;
  void reset() final;

  [[nodiscard]] size_t pendingCommands() const { return pending_.size(); }

 protected:
  // One command; `tag` is unique while the command is pending. The request is a copy.
  virtual void submitCommand(uint64_t tag, std::span<const std::byte> request,
                             size_t responseCapacity) = 0;
  // Responses ready since the last call, for tags given to submitCommand().
  virtual std::vector<Response> takeResponses() = 0;
  virtual bool hasPendingEvent() const = 0;
  virtual std::vector<std::byte> popEvent() = 0;
  // notifyFd() became readable.
  virtual void processNotify() = 0;
  // Forget every pending command and event.
  virtual void resetDevice() = 0;
  // True: a chain without a writable part is a command all the same (virtio-media's CLOSE),
  // submitted with responseCapacity 0 and used with length 0 once the device completes it.
  virtual bool acceptsCommandsWithoutResponse() const { return false; }
  // The answer to a command that cannot be kept (over the memory budget); empty: none (the
  // chain is completed with length 0).
  virtual std::vector<std::byte> rejectedResponse(std::span<const std::byte> request) {
    (void)request;
    return {};
  }

 private:
  void popCommands(Virtqueue& queue);
  void flush(QueueTable queues);
  bool deliverEvents(Virtqueue& queue);

  struct PendingCommand {
    DescriptorChain chain;
    MemoryBudget::Charge charge;  // what it holds, given back when it is answered
  };

  size_t maxRequestBytes_;
  std::shared_ptr<MemoryBudget> budget_;
  uint64_t nextTag_ = 1;
  std::map<uint64_t, PendingCommand> pending_;   // by tag
  std::vector<Response> undelivered_;            // completed while the command queue was stopped
};

}  // namespace vdec::virtio
