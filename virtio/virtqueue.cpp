// SPDX-License-Identifier: MIT
#include "virtio/virtqueue.h"

#include <sys/eventfd.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include <fmt/format.h>

#include "vdec/base/logging.h"
#include "vdec/base/wire.h"
#include "virtio/virtio_ring.h"

namespace vdec::virtio {

static_assert(std::endian::native == std::endian::little, "virtio rings are little-endian");

namespace {

using vring::VringDesc;

// The avail/used index fields are shared with the guest: load/store them atomically with
// acquire/release ordering so the ring entries they publish are seen in order.
uint16_t atomicLoad16(const std::byte* p) {
  return __atomic_load_n(reinterpret_cast<const uint16_t*>(p), __ATOMIC_ACQUIRE);
}

void atomicStore16(std::byte* p, uint16_t value) {
  __atomic_store_n(reinterpret_cast<uint16_t*>(p), value, __ATOMIC_RELEASE);
}

VringDesc readDesc(std::span<const std::byte> table, uint32_t index) {
  VringDesc desc;
  std::memcpy(&desc, table.data() + size_t{index} * sizeof(VringDesc), sizeof(desc));
  return desc;
}

bool isAligned(uint64_t addr, uint64_t alignment) { return addr % alignment == 0; }

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
  queue.nextUsed_ = atomicLoad16(queue.used_.data() + 2);
  return queue;
}

uint16_t Virtqueue::loadAvailIdx() const { return atomicLoad16(avail_.data() + 2); }

bool Virtqueue::hasAvailable() const { return loadAvailIdx() != nextAvail_; }

Result<std::optional<DescriptorChain>> Virtqueue::popChain() {
  const uint16_t availIdx = loadAvailIdx();
  if (availIdx == nextAvail_) return std::optional<DescriptorChain>();
  const uint16_t pending = static_cast<uint16_t>(availIdx - nextAvail_);
  if (pending > size_) {
    return makeError(ErrorCode::kInvalidParameter,
                     "avail idx {} jumped {} entries past {} (size {})", availIdx, pending,
                     nextAvail_, size_);
  }
  uint16_t head = 0;
  std::memcpy(&head, avail_.data() + 4 + 2 * size_t{static_cast<uint16_t>(nextAvail_ % size_)},
              sizeof(head));
  ++nextAvail_;

  DescriptorChain chain;
  chain.head = head;
  chain.memory = memory_;
  if (head >= size_) {
    chain.error = fmt::format("head {} outside queue of {}", head, size_);
  } else {
    walkChain(chain);
  }
  if (!chain.valid()) {
    chain.readable.clear();
    chain.writable.clear();
    chain.readableBytes = chain.writableBytes = 0;
    SPDLOG_LOGGER_DEBUG(&logs::virtio(), "malformed chain at head {}: {}", head, chain.error);
  }
  return std::optional<DescriptorChain>(std::move(chain));
}

// Follows the chain from chain.head; sets chain.error on the first problem. Bounded: at most
// one pass over the descriptor table (or the indirect table) and kMaxChainBytes in total.
void Virtqueue::walkChain(DescriptorChain& chain) const {
  std::span<const std::byte> table = desc_;
  uint32_t tableEntries = size_;
  uint32_t index = chain.head;
  uint32_t visited = 0;
  bool inIndirect = false;
  uint64_t total = 0;

  for (;;) {
    if (++visited > tableEntries) {
      chain.error = fmt::format("chain longer than its table of {} (loop?)", tableEntries);
      return;
    }
    const VringDesc desc = readDesc(table, index);
    if (desc.flags & vring::VRING_DESC_F_INDIRECT) {
      if (inIndirect) {
        chain.error = "nested indirect descriptor";
        return;
      }
      if (desc.flags & vring::VRING_DESC_F_NEXT) {
        chain.error = "indirect descriptor with NEXT";
        return;
      }
      if (desc.len == 0 || desc.len % sizeof(VringDesc) != 0) {
        chain.error = fmt::format("bad indirect table length {}", desc.len);
        return;
      }
      auto indirect = memory_->translate(buffers::GuestAddress{desc.addr}, desc.len);
      if (!indirect) {
        chain.error = fmt::format("indirect table: {}", indirect.error().message);
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
        chain.error = fmt::format("chain exceeds {} bytes", kMaxChainBytes);
        return;
      }
      auto bytes = memory_->translate(buffers::GuestAddress{desc.addr}, desc.len);
      if (!bytes) {
        chain.error = bytes.error().message;
        return;
      }
      if (desc.flags & vring::VRING_DESC_F_WRITE) {
        chain.writable.push_back(*bytes);
        chain.writableBytes += desc.len;
      } else if (!chain.writable.empty()) {
        chain.error = "readable descriptor after a writable one";
        return;
      } else {
        chain.readable.emplace_back(*bytes);
        chain.readableBytes += desc.len;
      }
    }
    if (!(desc.flags & vring::VRING_DESC_F_NEXT)) return;
    index = desc.next;
    if (index >= tableEntries) {
      chain.error = fmt::format("next {} outside table of {}", index, tableEntries);
      return;
    }
  }
}

void Virtqueue::pushUsed(uint16_t head, uint32_t writtenLen) {
  const vring::VringUsedElem elem{head, writtenLen};
  std::memcpy(used_.data() + 4 + sizeof(elem) * size_t{static_cast<uint16_t>(nextUsed_ % size_)},
              &elem, sizeof(elem));
  ++nextUsed_;
  atomicStore16(used_.data() + 2, nextUsed_);
}

void Virtqueue::notify() const {
  if (callFd_ < 0) return;
  // Make the used index visible before the guest can take the interrupt.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (::eventfd_write(callFd_, 1) != 0) {
    SPDLOG_LOGGER_DEBUG(&logs::virtio(), "call eventfd write failed: {}", std::strerror(errno));
  }
}

Result<std::vector<std::byte>> gather(const DescriptorChain& chain, size_t maxBytes) {
  if (chain.readableBytes > maxBytes) {
    return makeError(ErrorCode::kInvalidParameter, "request of {} bytes exceeds {}",
                     chain.readableBytes, maxBytes);
  }
  std::vector<std::byte> out;
  out.reserve(chain.readableBytes);
  for (const auto& span : chain.readable) out.insert(out.end(), span.begin(), span.end());
  return out;
}

size_t scatter(const DescriptorChain& chain, std::span<const std::byte> bytes) {
  size_t written = 0;
  for (const auto& span : chain.writable) {
    if (written == bytes.size()) break;
    const size_t n = std::min(span.size(), bytes.size() - written);
    std::memcpy(span.data(), bytes.data() + written, n);
    written += n;
  }
  return written;
}

}  // namespace vdec::virtio
