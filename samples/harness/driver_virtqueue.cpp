// SPDX-License-Identifier: MIT
// DriverVirtqueue: split-ring driver (descriptor chains, avail publishing, used reaping).
#include "samples/harness/driver_virtqueue.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "vdec/base/wire.h"
#include "virtio/virtio_ring.h"

namespace vdec::harness {
namespace {

constexpr uint64_t kRingAlign = 4096;

}  // namespace

Result<DriverVirtqueue> DriverVirtqueue::create(GuestRam& ram, uint16_t index, uint32_t size) {
  if (size == 0 || size > vring::kMaxQueueSize || (size & (size - 1)) != 0) {
    return makeError(ErrorCode::kInvalidParameter, "queue {} size {} is not a power of two <= {}",
                     index, size, vring::kMaxQueueSize);
  }
  DriverVirtqueue queue;
  const uint64_t availOffset = vring::descTableSize(size);
  const uint64_t usedOffset = alignUp(availOffset + vring::availRingSize(size), kRingAlign);
  const uint64_t total = usedOffset + vring::usedRingSize(size);
  VDEC_ASSIGN_OR_RETURN(queue.ring_, ram.allocContiguous(total, kRingAlign));
  queue.ram_ = &ram;  // from here on the destructor gives the pages back
  VDEC_ASSIGN_OR_RETURN(queue.indirect_,
                        ram.allocContiguous(vring::descTableSize(size) * kMaxIndirect));
  auto ringBytes = ram.at(queue.ring_.address.value, queue.ring_.length);
  std::memset(ringBytes.data(), 0, ringBytes.size());
  queue.index_ = index;
  queue.size_ = size;
  queue.availGpa_ = queue.ring_.address.value + availOffset;
  queue.usedGpa_ = queue.ring_.address.value + usedOffset;
  queue.kick_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  queue.call_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!queue.kick_.isValid() || !queue.call_.isValid()) {
    return makeError(ErrorCode::kBackendFailure, "eventfd: {}", std::strerror(errno));
  }
  queue.free_.reserve(size);
  for (uint32_t i = size; i > 0; --i) queue.free_.push_back(static_cast<uint16_t>(i - 1));
  queue.chains_.resize(size);
  queue.outstanding_.assign(size, false);
  return queue;
}

DriverVirtqueue& DriverVirtqueue::operator=(DriverVirtqueue&& other) noexcept {
  if (this == &other) return *this;
  releaseMemory();
  ram_ = std::exchange(other.ram_, nullptr);
  index_ = other.index_;
  size_ = other.size_;
  ring_ = other.ring_;
  indirect_ = other.indirect_;
  availGpa_ = other.availGpa_;
  usedGpa_ = other.usedGpa_;
  kick_ = std::move(other.kick_);
  call_ = std::move(other.call_);
  free_ = std::move(other.free_);
  chains_ = std::move(other.chains_);
  outstanding_ = std::move(other.outstanding_);
  availIdx_ = other.availIdx_;
  lastUsed_ = other.lastUsed_;
  inFlight_ = other.inFlight_;
  indirectThreshold_ = other.indirectThreshold_;
  eventIdx_ = other.eventIdx_;
  kickedAvail_ = other.kickedAvail_;
  kicks_ = other.kicks_;
  calls_ = other.calls_;
  return *this;
}

void DriverVirtqueue::releaseMemory() {
  if (ram_ == nullptr) return;
  if (ring_.length != 0) ram_->free(ring_);
  if (indirect_.length != 0) ram_->free(indirect_);
  ram_ = nullptr;
}

uint16_t* DriverVirtqueue::availIdx() {
  return reinterpret_cast<uint16_t*>(ram_->at(availGpa_ + 2, 2).data());
}

uint16_t* DriverVirtqueue::availRing(uint32_t slot) {
  return reinterpret_cast<uint16_t*>(ram_->at(availGpa_ + 4 + 2ull * slot, 2).data());
}

void DriverVirtqueue::writeDesc(uint64_t tableGpa, uint16_t index, uint64_t addr, uint32_t len,
                                uint16_t flags, uint16_t next) {
  const vring::VringDesc desc{addr, len, flags, next};
  std::memcpy(ram_->at(tableGpa + 16ull * index, 16).data(), &desc, sizeof(desc));
}

Result<uint16_t> DriverVirtqueue::addChain(std::span<const buffers::GuestRange> readable,
                                           std::span<const buffers::GuestRange> writable) {
  const size_t total = readable.size() + writable.size();
  if (total == 0) return makeError(ErrorCode::kInvalidParameter, "empty descriptor chain");
  for (const auto* list : {&readable, &writable}) {
    for (const auto& range : *list) {
      if (range.length > UINT32_MAX) {
        return makeError(ErrorCode::kInvalidParameter, "descriptor of {} bytes", range.length);
      }
    }
  }
  const bool indirect =
      indirectThreshold_ != 0 && total > indirectThreshold_ && total <= kMaxIndirect;
  const size_t needed = indirect ? 1 : total;
  if (free_.size() < needed) {
    return makeError(ErrorCode::kOutOfMemory, "queue {}: {} descriptors needed, {} free", index_,
                     needed, free_.size());
  }
  auto rangeAt = [&](size_t i) -> std::pair<const buffers::GuestRange&, uint16_t> {
    if (i < readable.size()) return {readable[i], 0};
    return {writable[i - readable.size()], vring::VRING_DESC_F_WRITE};
  };

  std::vector<uint16_t> chain(needed);
  for (auto& d : chain) {
    d = free_.back();
    free_.pop_back();
  }
  const uint16_t head = chain.front();
  if (indirect) {
    const uint64_t table = indirect_.address.value + 16ull * kMaxIndirect * head;
    for (size_t i = 0; i < total; ++i) {
      auto [range, flags] = rangeAt(i);
      const bool last = i + 1 == total;
      writeDesc(table, static_cast<uint16_t>(i), range.address.value,
                static_cast<uint32_t>(range.length),
                static_cast<uint16_t>(flags | (last ? 0 : vring::VRING_DESC_F_NEXT)),
                static_cast<uint16_t>(last ? 0 : i + 1));
    }
    writeDesc(descGpa(), head, table, static_cast<uint32_t>(16 * total),
              vring::VRING_DESC_F_INDIRECT, 0);
  } else {
    for (size_t i = 0; i < total; ++i) {
      auto [range, flags] = rangeAt(i);
      const bool last = i + 1 == total;
      writeDesc(descGpa(), chain[i], range.address.value, static_cast<uint32_t>(range.length),
                static_cast<uint16_t>(flags | (last ? 0 : vring::VRING_DESC_F_NEXT)),
                last ? 0 : chain[i + 1]);
    }
  }
  chains_[head] = std::move(chain);
  outstanding_[head] = true;
  ++inFlight_;

  *availRing(availIdx_ % size_) = head;
  ++availIdx_;
  // Descriptors and ring entry before the index (virtio_wmb in Linux's virtqueue_add_split).
  __atomic_store_n(availIdx(), availIdx_, __ATOMIC_RELEASE);
  return head;
}

void DriverVirtqueue::kick() {
  // The index store must be visible before we read the device's flags (virtio_mb).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (eventIdx_) {
    const uint16_t old = kickedAvail_;
    kickedAvail_ = availIdx_;
    const auto* availEvent = reinterpret_cast<const uint16_t*>(
        ram_->at(usedGpa_ + vring::availEventOffset(size_), 2).data());
    if (!vring::needEvent(__atomic_load_n(availEvent, __ATOMIC_ACQUIRE), availIdx_, old)) return;
  } else {
    const auto* usedFlags = reinterpret_cast<const uint16_t*>(ram_->at(usedGpa_, 2).data());
    if (__atomic_load_n(usedFlags, __ATOMIC_ACQUIRE) & vring::VRING_USED_F_NO_NOTIFY) return;
  }
  const uint64_t one = 1;
  ssize_t n = ::write(kick_.get(), &one, sizeof(one));
  (void)n;  // EAGAIN only when the counter is saturated: the device is notified anyway
  ++kicks_;
}

uint16_t DriverVirtqueue::loadUsedIdx() {
  const auto* usedIdxPtr = reinterpret_cast<const uint16_t*>(ram_->at(usedGpa_ + 2, 2).data());
  return __atomic_load_n(usedIdxPtr, __ATOMIC_ACQUIRE);
}

void DriverVirtqueue::publishUsedEvent() {
  auto* usedEvent =
      reinterpret_cast<uint16_t*>(ram_->at(availGpa_ + vring::usedEventOffset(size_), 2).data());
  __atomic_store_n(usedEvent, lastUsed_, __ATOMIC_RELEASE);
  // used_event before the used idx re-read (virtio_store_mb); pairs with the device's fence
  // between its used idx store and its used_event read.
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

Result<std::optional<UsedElem>> DriverVirtqueue::popUsed() {
  uint16_t usedIdx = loadUsedIdx();
  if (usedIdx == lastUsed_ && eventIdx_) {
    publishUsedEvent();
    usedIdx = loadUsedIdx();
  }
  if (usedIdx == lastUsed_) return std::optional<UsedElem>();
  const uint16_t pending = static_cast<uint16_t>(usedIdx - lastUsed_);
  if (pending > inFlight_) {
    return makeError(ErrorCode::kBackendFailure,
                     "queue {}: used idx {} is {} ahead, only {} chains outstanding", index_,
                     usedIdx, pending, inFlight_);
  }
  vring::VringUsedElem elem;
  std::memcpy(&elem, ram_->at(usedGpa_ + 4 + 8ull * (lastUsed_ % size_), 8).data(), sizeof(elem));
  ++lastUsed_;
  if (eventIdx_) publishUsedEvent();  // as virtqueue_get_buf_ctx_split
  if (elem.id >= size_ || !outstanding_[elem.id]) {
    return makeError(ErrorCode::kBackendFailure, "queue {}: device returned head {} not in flight",
                     index_, elem.id);
  }
  for (uint16_t d : chains_[elem.id]) free_.push_back(d);
  chains_[elem.id].clear();
  outstanding_[elem.id] = false;
  --inFlight_;
  return std::optional<UsedElem>(UsedElem{static_cast<uint16_t>(elem.id), elem.len});
}

Result<bool> DriverVirtqueue::waitCall(std::chrono::milliseconds timeout) {
  pollfd pfd{call_.get(), POLLIN, 0};
  int rc;
  do {
    rc = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    return makeError(ErrorCode::kBackendFailure, "poll on call eventfd: {}", std::strerror(errno));
  }
  if (rc == 0) return false;
  clearCall();
  return true;
}

void DriverVirtqueue::clearCall() {
  uint64_t value = 0;
  if (::read(call_.get(), &value, sizeof(value)) == sizeof(value)) calls_ += value;
  // else EAGAIN: nothing pending
}

}  // namespace vdec::harness
