// SPDX-License-Identifier: MIT
// DriverVirtqueue: the driver side of one split virtqueue living in GuestRam.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "buffers/guest_pages.h"
#include "samples/harness/guest_ram.h"
#include "vdec/base/result.h"
#include "vdec/base/unique_fd.h"

namespace vdec::harness {

struct UsedElem {
  uint16_t head = 0;
  uint32_t len = 0;  // bytes the device says it wrote
};

// Layout as Linux's vring_init with 4 KiB alignment: descriptor table, avail ring right after,
// used ring on the next 4 KiB boundary, all inside one allocation of the RAM. Plus one indirect
// table slot per descriptor (kMaxIndirect entries each), used when enabled.
// Host-side bookkeeping (free list, chains) never reads back guest memory, so a device that
// scribbles over the rings cannot confuse it; popUsed() validates what the device wrote.
// Borrows `ram`, which must outlive the queue. Threads: single-threaded.
class DriverVirtqueue {
 public:
  static constexpr uint16_t kMaxIndirect = 16;

  // size: a power of two in [1, 32768]. Creates the kick and call eventfds (non-blocking).
  static Result<DriverVirtqueue> create(GuestRam& ram, uint16_t index, uint32_t size);
  DriverVirtqueue(DriverVirtqueue&& other) noexcept { *this = std::move(other); }
  DriverVirtqueue& operator=(DriverVirtqueue&& other) noexcept;
  ~DriverVirtqueue() { releaseMemory(); }

  uint16_t index() const { return index_; }
  uint32_t size() const { return size_; }
  uint64_t descGpa() const { return ring_.address.value; }
  uint64_t availGpa() const { return availGpa_; }
  uint64_t usedGpa() const { return usedGpa_; }
  int kickFd() const { return kick_.get(); }
  int callFd() const { return call_.get(); }
  uint32_t numFree() const { return static_cast<uint32_t>(free_.size()); }
  // Chains of more than `minDescriptors` descriptors go through an indirect table (needs
  // INDIRECT_DESC negotiated); 0 disables indirect descriptors.
  void setIndirectThreshold(uint32_t minDescriptors) { indirectThreshold_ = minDescriptors; }
  // VIRTIO_RING_F_EVENT_IDX negotiated: set before the first kick, as Linux fixes it at probe.
  void setEventIdx(bool on) { eventIdx_ = on; }
  bool eventIdx() const { return eventIdx_; }

  // Builds [readable...][writable...] and publishes it in the avail ring (release ordering);
  // does not kick. Fails with kOutOfMemory when not enough descriptors are free.
  Result<uint16_t> addChain(std::span<const buffers::GuestRange> readable,
                            std::span<const buffers::GuestRange> writable);
  // Notifies the device unless it set VRING_USED_F_NO_NOTIFY (as Linux without EVENT_IDX); with
  // EVENT_IDX only if vring_need_event(avail_event, avail idx, avail idx at the last kick()), as
  // Linux's virtqueue_kick_prepare_split (fence between the avail idx store and the read).
  void kick();
  // The next used element, freeing its descriptors; an error if the device returned a head
  // that is not outstanding or moved used->idx past what is outstanding. With EVENT_IDX, as
  // Linux (callbacks always enabled): after taking an element, and on finding the ring empty,
  // publishes used_event = the used idx seen so far and fences; on empty it then re-reads the
  // used idx (virtqueue_enable_cb), so an empty result means the device will signal the next
  // completion.
  Result<std::optional<UsedElem>> popUsed();
  // Heads added and not yet returned.
  uint32_t inFlight() const { return inFlight_; }

  // Waits up to timeout for the call eventfd; true when it fired (its counter is consumed).
  Result<bool> waitCall(std::chrono::milliseconds timeout);
  // Consumes a pending call notification without waiting.
  void clearCall();

  // Notifications written to the kick eventfd (suppressed ones not counted), and the device's
  // used-ring notifications consumed from the call eventfd (its counter sums every write, so
  // coalesced reads still count each one): in a VM, exits and guest interrupts.
  uint64_t kicks() const { return kicks_; }
  uint64_t calls() const { return calls_; }

 private:
  DriverVirtqueue() = default;
  void releaseMemory();  // gives the ring pages back to the RAM allocator
  uint16_t* availIdx();
  uint16_t* availRing(uint32_t slot);
  uint16_t loadUsedIdx();
  void publishUsedEvent();  // EVENT_IDX: used_event = lastUsed_, then a full fence
  void writeDesc(uint64_t tableGpa, uint16_t index, uint64_t addr, uint32_t len, uint16_t flags,
                 uint16_t next);

  GuestRam* ram_ = nullptr;
  uint16_t index_ = 0;
  uint32_t size_ = 0;
  buffers::GuestRange ring_{};      // desc + avail + used
  buffers::GuestRange indirect_{};  // size_ * kMaxIndirect descriptors
  uint64_t availGpa_ = 0;
  uint64_t usedGpa_ = 0;
  UniqueFd kick_;
  UniqueFd call_;
  std::vector<uint16_t> free_;                 // free descriptor indices (stack)
  std::vector<std::vector<uint16_t>> chains_;  // per head: the descriptors it holds
  std::vector<bool> outstanding_;              // per head
  uint16_t availIdx_ = 0;
  uint16_t lastUsed_ = 0;
  uint32_t inFlight_ = 0;
  uint32_t indirectThreshold_ = 0;
  bool eventIdx_ = false;
  uint16_t kickedAvail_ = 0;  // EVENT_IDX: availIdx_ at the last kick()
  uint64_t kicks_ = 0;
  uint64_t calls_ = 0;
};

}  // namespace vdec::harness
