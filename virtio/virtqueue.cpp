// SPDX-License-Identifier: MIT
#include "virtio/virtqueue.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "buffers/sigbus_guard.h"
#include "vdec/base/log_limiter.h"
#include "vdec/base/logging.h"
#include "vdec/base/wire.h"
#include "virtio/frontend_fd.h"
#include "virtio/virtio_ring.h"

namespace vdec::virtio {

static_assert(std::endian::native == std::endian::little, "virtio rings are little-endian");

namespace {

using vring::VringDesc;

// Guest memory may be a file that the front-end can truncate (buffers/fd_seals.h): every access
// here is SIGBUS-guarded. The avail/used index fields are loaded/stored atomically with
// acquire/release ordering so the ring entries they publish are seen in order.
std::optional<uint16_t> atomicLoad16(const std::byte* p) {
  uint16_t value = 0;
  if (!buffers::guardedLoad16(p, &value)) return std::nullopt;
  return value;
}

bool readDesc(std::span<const std::byte> table, uint32_t index, VringDesc* desc) {
  return buffers::guardedCopy(desc, table.data() + size_t{index} * sizeof(VringDesc),
                              sizeof(*desc));
}

bool isAligned(uint64_t addr, uint64_t alignment) { return addr % alignment == 0; }

LogLimiter& chainLogLimiter() {
  static LogLimiter limiter;
  return limiter;
}

// Every bad chain is logged, in every build, at most one line per cause per second.
void logBadChain(const DescriptorChain& chain) {
  if (auto count = chainLogLimiter().admit(chain.cause)) {
    logs::virtio().warn("malformed descriptor chain at head {}: {} ({} {} in the last second)",
                        chain.head, chain.error, *count, *count == 1 ? "chain" : "chains");
  }
}

template <typename... Args>
void fail(DescriptorChain& chain, const char* cause, fmt::format_string<Args...> format,
          Args&&... args) {
  chain.cause = cause;
  chain.error = fmt::format(format, std::forward<Args>(args)...);
}

}  // namespace

Result<Virtqueue> Virtqueue::create(std::shared_ptr<const buffers::GuestMemory> memory,
                                    const VirtqueueLayout& layout) {
  if (!memory) return makeError(ErrorCode::kInvalidOperation, "ring set up before memory table");
  const uint32_t size = layout.size;
  if (size == 0 || size > vring::kMaxQueueSize || !std::has_single_bit(size)) {
    return makeError(ErrorCode::kInvalidParameter, "bad queue size {}", size);
  }
  if (!isAligned(layout.descUserAddr, 16) || !isAligned(layout.availUserAddr, 2) ||
      !isAligned(layout.usedUserAddr, 4)) {
    return makeError(ErrorCode::kInvalidParameter,
                     "misaligned ring desc {:#x} avail {:#x} used {:#x}", layout.descUserAddr,
                     layout.availUserAddr, layout.usedUserAddr);
  }
  Virtqueue queue;
  VDEC_ASSIGN_OR_RETURN(queue.desc_,
                        memory->translateUser(layout.descUserAddr, vring::descTableSize(size)));
  VDEC_ASSIGN_OR_RETURN(queue.avail_,
                        memory->translateUser(layout.availUserAddr, vring::availRingSize(size)));
  VDEC_ASSIGN_OR_RETURN(queue.used_,
                        memory->translateUser(layout.usedUserAddr, vring::usedRingSize(size)));
  queue.memory_ = std::move(memory);
  queue.layout_ = layout;
  queue.size_ = static_cast<uint16_t>(size);
  queue.nextAvail_ = layout.nextAvail;
  // Resume where the previous owner of the ring stopped (libvhost-user does the same).
  auto usedIdx = atomicLoad16(queue.used_.data() + 2);
  if (!usedIdx) return makeError(ErrorCode::kInvalidParameter, "used ring faulted (truncated fd)");
  queue.nextUsed_ = *usedIdx;
  return queue;
}

std::optional<uint16_t> Virtqueue::loadAvailIdx() const { return atomicLoad16(avail_.data() + 2); }

std::optional<uint16_t> Virtqueue::armAvailEvent() {
  // A failed store means the memory is gone: the re-read below faults as well.
  (void)buffers::guardedStore16(used_.data() + vring::availEventOffset(size_), nextAvail_);
  // avail_event before the avail idx re-read; pairs with the driver's fence between publishing
  // its avail idx and reading avail_event (Linux virtqueue_kick_prepare_split's virtio_mb).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return loadAvailIdx();
}

std::optional<uint16_t> Virtqueue::loadAvailIdxOrArm() {
  std::optional<uint16_t> availIdx = loadAvailIdx();
  if (availIdx && *availIdx == nextAvail_ && layout_.eventIdx) {
    if (emptyRingHook_) emptyRingHook_();
    availIdx = armAvailEvent();
  }
  return availIdx;
}

bool Virtqueue::hasAvailable() {
  auto availIdx = loadAvailIdxOrArm();
  return availIdx && *availIdx != nextAvail_;
}

Result<std::optional<DescriptorChain>> Virtqueue::popChain() {
  const std::optional<uint16_t> loaded = loadAvailIdxOrArm();
  if (!loaded) {
    return makeError(ErrorCode::kInvalidParameter, "avail ring faulted (guest memory truncated)");
  }
  const uint16_t availIdx = *loaded;
  if (availIdx == nextAvail_) return std::optional<DescriptorChain>();
  const uint16_t pending = static_cast<uint16_t>(availIdx - nextAvail_);
  if (pending > size_) {
    return makeError(ErrorCode::kInvalidParameter,
                     "avail idx {} jumped {} entries past {} (size {})", availIdx, pending,
                     nextAvail_, size_);
  }
  uint16_t head = 0;
  if (!buffers::guardedCopy(
          &head, avail_.data() + 4 + 2 * size_t{static_cast<uint16_t>(nextAvail_ % size_)},
          sizeof(head))) {
    return makeError(ErrorCode::kInvalidParameter, "avail ring faulted (guest memory truncated)");
  }
  ++nextAvail_;

  DescriptorChain chain;
  chain.head = head;
  chain.memory = memory_;
  if (head >= size_) {
    fail(chain, "head outside the queue", "head {} outside queue of {}", head, size_);
  } else {
    walkChain(chain);
  }
  if (!chain.valid()) {
    // Release the spans' memory too: a bad chain holds nothing while it waits to be completed.
    std::vector<std::span<const std::byte>>().swap(chain.readable);
    std::vector<std::span<std::byte>>().swap(chain.writable);
    chain.readableBytes = chain.writableBytes = 0;
    logBadChain(chain);
  }
  return std::optional<DescriptorChain>(std::move(chain));
}

// Follows the chain from chain.head; sets chain.error on the first problem. Bounded by what a
// chain can legally reach: each table (the ring's, or one indirect table of at most
// kMaxIndirectEntries) is visited at most once per entry (a longer walk is a loop), the whole
// chain holds at most kMaxChainDescriptors descriptors and kMaxChainBytes bytes.
void Virtqueue::walkChain(DescriptorChain& chain) const {
  std::span<const std::byte> table = desc_;
  uint32_t tableEntries = size_;
  uint32_t index = chain.head;
  uint32_t visited = 0;  // in the current table
  uint32_t steps = 0;    // in the whole chain
  bool inIndirect = false;
  uint64_t total = 0;

  for (;;) {
    if (++visited > tableEntries) {
      fail(chain, "loop in chain", "chain longer than its table of {} (loop?)", tableEntries);
      return;
    }
    VringDesc desc{};
    if (!readDesc(table, index, &desc)) {
      fail(chain, "descriptor table faulted", "descriptor table faulted (guest memory truncated)");
      return;
    }
    // The descriptor pointing at an indirect table is not counted: the table's entries are.
    if (!(desc.flags & vring::VRING_DESC_F_INDIRECT) && ++steps > kMaxChainDescriptors) {
      fail(chain, "chain too long", "chain of more than {} descriptors", kMaxChainDescriptors);
      return;
    }
    if (desc.flags & vring::VRING_DESC_F_INDIRECT) {
      if (inIndirect) {
        fail(chain, "nested indirect", "nested indirect descriptor");
        return;
      }
      if (desc.flags & vring::VRING_DESC_F_NEXT) {
        fail(chain, "indirect with next", "indirect descriptor with NEXT");
        return;
      }
      if (desc.len == 0 || desc.len % sizeof(VringDesc) != 0) {
        fail(chain, "bad indirect length", "bad indirect table length {}", desc.len);
        return;
      }
      // Checked before anything is translated or read: a 4 GiB "table" costs nothing.
      if (desc.len / sizeof(VringDesc) > kMaxIndirectEntries) {
        fail(chain, "indirect table too long", "indirect table of {} entries over {}",
             desc.len / sizeof(VringDesc), kMaxIndirectEntries);
        return;
      }
      auto indirect = memory_->translate(buffers::GuestAddress{desc.addr}, desc.len);
      if (!indirect) {
        fail(chain, "indirect table outside guest RAM", "indirect table: {}",
             indirect.error().message);
        return;
      }
      table = *indirect;
      tableEntries = desc.len / sizeof(VringDesc);
      index = 0;
      visited = 0;
      inIndirect = true;
      continue;
    }
    if (desc.len != 0) {  // zero-length descriptors are legal and carry nothing
      if (addOverflows(total, desc.len, &total) || total > kMaxChainBytes) {
        fail(chain, "chain too large", "chain exceeds {} bytes", kMaxChainBytes);
        return;
      }
      auto bytes = memory_->translate(buffers::GuestAddress{desc.addr}, desc.len);
      if (!bytes) {
        fail(chain, "buffer outside guest RAM", "{}", bytes.error().message);
        return;
      }
      if (desc.flags & vring::VRING_DESC_F_WRITE) {
        chain.writable.push_back(*bytes);
        chain.writableBytes += desc.len;
      } else if (!chain.writable.empty()) {
        fail(chain, "readable after writable", "readable descriptor after a writable one");
        return;
      } else {
        chain.readable.emplace_back(*bytes);
        chain.readableBytes += desc.len;
      }
    }
    if (!(desc.flags & vring::VRING_DESC_F_NEXT)) return;
    index = desc.next;
    if (index >= tableEntries) {
      fail(chain, "next outside table", "next {} outside table of {}", index, tableEntries);
      return;
    }
  }
}

void Virtqueue::pushUsed(uint16_t head, uint32_t writtenLen) {
  const vring::VringUsedElem elem{head, writtenLen};
  const bool stored =
      buffers::guardedCopy(
          used_.data() + 4 + sizeof(elem) * size_t{static_cast<uint16_t>(nextUsed_ % size_)},
          &elem, sizeof(elem)) &&
      buffers::guardedStore16(used_.data() + 2, static_cast<uint16_t>(nextUsed_ + 1));
  ++nextUsed_;
  if (!stored) {
    static LogLimiter limiter;
    if (auto count = limiter.admit("used ring faulted")) {
      logs::virtio().warn("used ring faulted (guest memory truncated); {} completions lost",
                          *count);
    }
  }
}

void Virtqueue::notify() {
  if (callFd_ < 0) return;
  // Make the used index visible before the guest can take the interrupt, and (EVENT_IDX) before
  // reading used_event: pairs with the driver's fence between publishing used_event and
  // re-reading the used idx (Linux virtqueue_enable_cb/virtqueue_poll).
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (layout_.eventIdx) {
    const uint16_t old = signalledUsed_;
    const bool valid = signalledValid_;
    signalledUsed_ = nextUsed_;
    signalledValid_ = true;
    // As QEMU's virtio_split_should_notify: the first signal is unconditional; an unreadable
    // used_event signals (a spurious interrupt is harmless, a missing one hangs the guest).
    const std::optional<uint16_t> usedEvent =
        atomicLoad16(avail_.data() + vring::usedEventOffset(size_));
    if (valid && usedEvent && !vring::needEvent(*usedEvent, nextUsed_, old)) return;
  }
  // EAGAIN (counter at its maximum, pipe full) counts as signalled: an interrupt is pending.
  if (!signalCall(callFd_)) {
    static LogLimiter limiter;
    if (auto count = limiter.admit("call fd write failed")) {
      logs::virtio().warn("call fd write failed: {} ({} times)", std::strerror(errno), *count);
    }
  }
}

Result<std::vector<std::byte>> gather(const DescriptorChain& chain, size_t maxBytes) {
  if (chain.readableBytes > maxBytes) {
    return makeError(ErrorCode::kInvalidParameter, "request of {} bytes exceeds {}",
                     chain.readableBytes, maxBytes);
  }
  std::vector<std::byte> out(chain.readableBytes);
  size_t at = 0;
  for (const auto& span : chain.readable) {
    if (!buffers::guardedCopy(out.data() + at, span.data(), span.size())) {
      return makeError(ErrorCode::kInvalidParameter, "request faulted (guest memory truncated)");
    }
    at += span.size();
  }
  return out;
}

size_t scatter(const DescriptorChain& chain, std::span<const std::byte> bytes) {
  size_t written = 0;
  for (const auto& span : chain.writable) {
    if (written == bytes.size()) break;
    const size_t n = std::min(span.size(), bytes.size() - written);
    if (!buffers::guardedCopy(span.data(), bytes.data() + written, n)) break;
    written += n;
  }
  return written;
}

}  // namespace vdec::virtio
