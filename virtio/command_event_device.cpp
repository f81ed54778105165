// SPDX-License-Identifier: MIT
#include "virtio/command_event_device.h"

#include <utility>

#include "vdec/base/log_limiter.h"
#include "vdec/base/logging.h"

namespace vdec::virtio {
namespace {

Virtqueue* queueAt(QueueTable queues, uint32_t index) {
  return index < queues.size() ? queues[index] : nullptr;
}

// Guest-triggered: logged in every build, one line per cause per second.
template <typename... Args>
void warnLimited(const char* cause, fmt::format_string<Args...> format, Args&&... args) {
  static LogLimiter limiter;
  if (auto count = limiter.admit(cause)) {
    logs::virtio().warn("{} ({} in the last second)",
                        fmt::format(format, std::forward<Args>(args)...), *count);
  }
}

}  // namespace

void CommandEventDevice::onQueueKick(uint32_t index, QueueTable queues) {
  if (index == kCommandQueue) {
    if (Virtqueue* queue = queueAt(queues, kCommandQueue)) popCommands(*queue);
  }
  // An event-queue kick means new event buffers; a command may also have produced events.
  flush(queues);
}

void CommandEventDevice::onNotify(QueueTable queues) {
  processNotify();
  flush(queues);
}

void CommandEventDevice::reset() {
  resetDevice();
  pending_.clear();
  undelivered_.clear();
}

void CommandEventDevice::popCommands(Virtqueue& queue) {
  bool completedAny = false;
  for (;;) {
    auto popped = queue.popChain();
    if (!popped) {
      warnLimited("command ring unusable", "command queue: {}", popped.error().message);
      break;
    }
    if (!*popped) break;
    DescriptorChain& chain = **popped;
    if (!chain.valid() || (chain.writableBytes == 0 && !acceptsCommandsWithoutResponse())) {
      // Malformed chains were logged by popChain().
      if (chain.valid()) {
        warnLimited("command without response buffer",
                    "command chain {} dropped: no writable buffer", chain.head);
      }
      queue.pushUsed(chain.head, 0);
      completedAny = true;
      continue;
    }
    auto request = gather(chain, maxRequestBytes_);
    if (!request) {
      warnLimited("command request unusable", "command chain {} dropped: {}", chain.head,
                  request.error().message);
      queue.pushUsed(chain.head, 0);
      completedAny = true;
      continue;
    }
    // Only the writable spans are needed from now on.
    chain.readable = {};
    const uint64_t cost =
        kPendingCommandCost + chain.writable.capacity() * sizeof(chain.writable.front());
    // A command without a writable part (virtio-media's CLOSE) cannot be told it failed, and it
    // frees memory: it is never refused for the budget.
    const bool chargeable = budget_ && chain.writableBytes > 0;
    std::optional<MemoryBudget::Charge> charge;
    if (chargeable) charge = budget_->tryCharge(cost);
    if (chargeable && !charge) {
      warnLimited("command over memory budget",
                  "command chain {} rejected: {} bytes of {} held by the daemon", chain.head,
                  budget_->used(), budget_->limit());
      const std::vector<std::byte> response = rejectedResponse(*request);
      const size_t written = scatter(chain, response);
      queue.pushUsed(chain.head, static_cast<uint32_t>(written));
      completedAny = true;
      continue;
    }
    const uint64_t tag = nextTag_++;
    const size_t capacity = chain.writableBytes;
    pending_.emplace(tag, PendingCommand{std::move(chain),
                                         charge ? std::move(*charge) : MemoryBudget::Charge{}});
    submitCommand(tag, *request, capacity);
  }
  if (completedAny) queue.notify();
}

void CommandEventDevice::flush(QueueTable queues) {
  for (auto& response : takeResponses()) undelivered_.push_back(std::move(response));
  if (Virtqueue* commands = queueAt(queues, kCommandQueue); commands && !undelivered_.empty()) {
    for (const auto& response : undelivered_) {
      auto it = pending_.find(response.tag);
      if (it == pending_.end()) {
        logs::virtio().warn("response for unknown tag {} dropped", response.tag);
        continue;
      }
      const size_t written = scatter(it->second.chain, response.bytes);
      if (written < response.bytes.size()) {
        warnLimited("response truncated", "response of {} bytes truncated to {}",
                    response.bytes.size(), written);
      }
      commands->pushUsed(it->second.chain.head, static_cast<uint32_t>(written));
      pending_.erase(it);
    }
    undelivered_.clear();
    commands->notify();
  }
  if (Virtqueue* events = queueAt(queues, kEventQueue)) {
    if (deliverEvents(*events)) events->notify();
  }
}

// Returns true if anything was pushed to the event queue.
bool CommandEventDevice::deliverEvents(Virtqueue& queue) {
  bool pushed = false;
  while (hasPendingEvent() && queue.hasAvailable()) {
    auto popped = queue.popChain();
    if (!popped || !*popped) {
      if (!popped) warnLimited("event ring unusable", "event queue: {}", popped.error().message);
      break;
    }
    DescriptorChain& chain = **popped;
    pushed = true;
    if (!chain.valid() || chain.writableBytes == 0) {
      // Useless buffer: give it back and keep the event for the next one.
      if (chain.valid()) {
        warnLimited("event buffer not writable", "event chain {} unusable", chain.head);
      }
      queue.pushUsed(chain.head, 0);
      continue;
    }
    const std::vector<std::byte> event = popEvent();
    const size_t written = scatter(chain, event);
    queue.pushUsed(chain.head, static_cast<uint32_t>(written));
  }
  return pushed;
}

}  // namespace vdec::virtio
