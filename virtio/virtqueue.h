// SPDX-License-Identifier: MIT
// Virtqueue: the device side of one split virtqueue living in shared guest memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "buffers/guest_memory.h"
#include "vdec/base/result.h"

namespace vdec::virtio {

// One descriptor chain popped from the avail ring. The spans point into guest memory (kept
// alive by `memory`); the guest may rewrite those bytes at any time, so copy before parsing.
// A chain whose `error` is set is malformed: it carries no buffers, and the device must still
// complete it with pushUsed(head, 0) so that the ring does not stall. The spans are only ever
// read or written through gather()/scatter(), which are SIGBUS-safe (buffers/sigbus_guard.h).
struct DescriptorChain {
  uint16_t head = 0;
  std::vector<std::span<const std::byte>> readable;
  std::vector<std::span<std::byte>> writable;
  uint64_t readableBytes = 0;
  uint64_t writableBytes = 0;
  std::string error;       // empty for a well-formed chain
  const char* cause = "";  // the kind of error, a fixed string (rate-limited logging key)
  std::shared_ptr<const buffers::GuestMemory> memory;

  [[nodiscard]] bool valid() const { return error.empty(); }
};

// Upper bound on the bytes one chain may describe (readable + writable).
inline constexpr uint64_t kMaxChainBytes = 64ull << 20;
// Upper bound on the descriptors of one chain, the entries of an indirect table included, and on
// the entries of one indirect table (16 KiB). QEMU bounds chains the same way
// (VIRTQUEUE_MAX_SIZE); the virtio-video driver sends at most 3 per command. It bounds the work
// of one walk and the host memory of one chain (readable + writable spans, 16 bytes each).
inline constexpr uint32_t kMaxChainDescriptors = 1024;
inline constexpr uint32_t kMaxIndirectEntries = 1024;

// Where the front-end placed a ring (vhost-user SET_VRING_NUM/ADDR/BASE).
struct VirtqueueLayout {
  uint16_t size = 0;          // power of two, 1..32768
  uint64_t descUserAddr = 0;  // front-end virtual addresses (translateUser)
  uint64_t availUserAddr = 0;
  uint64_t usedUserAddr = 0;
  uint16_t nextAvail = 0;  // SET_VRING_BASE
  bool eventIdx = false;   // VIRTIO_RING_F_EVENT_IDX negotiated
};

// Thread: one thread at a time (the transport's loop thread). Holds a reference on the guest
// memory it was built from. Borrows the call eventfd (see setCallFd()).
// Without VIRTIO_RING_F_EVENT_IDX notify() always signals and kicks are never suppressed (the
// device does not set VRING_USED_F_NO_NOTIFY). With it (layout.eventIdx): notify() signals only
// when vring_need_event(used_event, used idx, used idx at the last signal) says so, and
// whenever popChain()/hasAvailable() find the ring empty they publish avail_event = nextAvail(),
// fence, and re-read the avail idx, so a buffer the driver adds concurrently is either seen by
// the re-read or followed by a kick: the device never sleeps on a non-empty ring.
class Virtqueue {
 public:
  // Translates and checks the three ring areas; reads the current used index from guest memory.
  static Result<Virtqueue> create(std::shared_ptr<const buffers::GuestMemory> memory,
                                  const VirtqueueLayout& layout);

  // Pops the next available chain; nullopt when the ring is empty. An error means the avail
  // ring itself is corrupt (index jump larger than the ring) or unreadable (guest memory
  // faulted): nothing can be completed. A malformed chain is returned as a chain with `error`
  // set, and logged (rate-limited, one line per cause per second, in every build). The walk is
  // bounded by kMaxChainDescriptors steps whatever the guest wrote.
  Result<std::optional<DescriptorChain>> popChain();
  // True if popChain() would return a chain (or an error); false if the ring is unreadable.
  // With EVENT_IDX, false also means avail_event was published (the driver will kick).
  [[nodiscard]] bool hasAvailable();

  // Publishes head as used with writtenLen bytes written (release ordering).
  void pushUsed(uint16_t head, uint32_t writtenLen);
  // Signals the call eventfd, if any (with EVENT_IDX: only if the driver asked for it). Never
  // blocks: the server makes call fds non-blocking, and a full counter (EAGAIN) already means
  // "interrupt pending", so the signal is not lost.
  void notify();

  // Borrowed: the fd must stay open while set, and be non-blocking; -1 disables notifications.
  // The next notify() after a change signals unconditionally.
  void setCallFd(int fd) {
    callFd_ = fd;
    signalledValid_ = false;
  }
  [[nodiscard]] bool eventIdx() const { return layout_.eventIdx; }
  // Tests only: runs when an EVENT_IDX ring was read empty, before avail_event is published (the
  // window a concurrent driver can fall into).
  void setEmptyRingHookForTest(std::function<void()> hook) { emptyRingHook_ = std::move(hook); }

  [[nodiscard]] uint16_t size() const { return size_; }
  // The next avail index to read: what GET_VRING_BASE reports.
  [[nodiscard]] uint16_t nextAvail() const { return nextAvail_; }
  [[nodiscard]] const VirtqueueLayout& layout() const { return layout_; }

 private:
  Virtqueue() = default;
  std::optional<uint16_t> loadAvailIdx() const;
  // EVENT_IDX: publishes avail_event = nextAvail_, fences, and re-reads the avail idx.
  std::optional<uint16_t> armAvailEvent();
  // The avail idx; when it shows an empty ring and EVENT_IDX is on, armAvailEvent()'s re-read.
  std::optional<uint16_t> loadAvailIdxOrArm();
  void walkChain(DescriptorChain& chain) const;

  std::shared_ptr<const buffers::GuestMemory> memory_;
  VirtqueueLayout layout_;
  std::span<std::byte> desc_;
  std::span<std::byte> avail_;
  std::span<std::byte> used_;
  uint16_t size_ = 0;
  uint16_t nextAvail_ = 0;
  uint16_t nextUsed_ = 0;
  uint16_t signalledUsed_ = 0;   // EVENT_IDX: nextUsed_ at the last notify()
  bool signalledValid_ = false;  // false until the first notify() (it always signals)
  int callFd_ = -1;
  std::function<void()> emptyRingHook_;
};

// Copies the readable bytes of chain; fails if they exceed maxBytes or guest memory faults.
Result<std::vector<std::byte>> gather(const DescriptorChain& chain, size_t maxBytes);
// Copies bytes into the writable buffers of chain, in order; returns how many fit (stops early
// if guest memory faults).
size_t scatter(const DescriptorChain& chain, std::span<const std::byte> bytes);

}  // namespace vdec::virtio
