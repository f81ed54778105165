// SPDX-License-Identifier: MIT
// Fuzzes virtio::Virtqueue: guest-controlled ring memory, indices and queue size through
// create/popChain/gather/scatter/pushUsed, with the "guest" rewriting memory between pops.
//
// Input format (tests/fuzz/make_seeds.py writes seeds in it):
//   u8 queue size log2 (% 16), u16 next avail index (SET_VRING_BASE),
//   u32 desc, avail, used offsets from the start of guest RAM (user addresses; unchecked),
//   u16 n, then n bytes copied to the start of guest RAM (1 MiB, followed by a separately
//   mapped sparse 4 GiB region, so that an indirect table of any length up to 0xFFFFFFF0
//   bytes translates), then ops until the input ends (at most kMaxOps):
//     op % 4 == 0  pop one chain, gather it, scatter into it, push it used
//     op % 4 == 1  u16: the guest publishes a new avail index
//     op % 4 == 2  u32 offset, u8 value: the guest rewrites one byte of its RAM (offsets past
//                  the first region land in the second: 1 MiB + offset)
//     op % 4 == 3  pop and complete every available chain (at most queue size + 1)
//   At most kMaxPops chains are popped per input.
//
// Invariants checked: a well-formed chain's buffers all lie inside guest RAM mappings and add up
// to its byte counts (at most kMaxChainBytes) and to at most kMaxChainDescriptors buffers; a
// malformed chain carries no buffer; an empty hasAvailable() means popChain() returns nothing;
// gather/scatter move exactly what fits. A walk that is not bounded by what a chain can legally
// reach (issue 10: a 0xFFFFFFF0-byte table walked for 268M steps) shows up as a timeout.
#include <cstring>
#include <vector>

#include "tests/fuzz/fuzz_support.h"
#include "virtio/virtqueue.h"

namespace vdec::fuzz {
namespace {

constexpr uint64_t kRamBase = 0x40000000;
constexpr uint64_t kRamSize = 1u << 20;
constexpr uint64_t kExtraSize = 4ull << 30;  // sparse: only what an input touches is allocated
constexpr uint64_t kUserBase = kRamBase + FuzzGuestMemory::kUserOffset;
constexpr int kMaxOps = 256;
// A chain may visit every descriptor of a 32768-entry table; bounding the pops keeps an input
// under a second (the device bounds this through its maximum queue size).
constexpr int kMaxPops = 512;
constexpr size_t kMaxGather = 1u << 20;

void checkChain(const FuzzGuestMemory& ram, const virtio::DescriptorChain& chain, uint16_t size) {
  if (!chain.valid()) {
    VDEC_FUZZ_ASSERT(chain.readable.empty() && chain.writable.empty());
    VDEC_FUZZ_ASSERT(chain.readableBytes == 0 && chain.writableBytes == 0);
    return;
  }
  VDEC_FUZZ_ASSERT(chain.head < size);
  uint64_t readable = 0;
  uint64_t writable = 0;
  for (const auto& span : chain.readable) {
    VDEC_FUZZ_ASSERT(ram.contains(span.data(), span.size()));
    readable += span.size();
  }
  for (const auto& span : chain.writable) {
    VDEC_FUZZ_ASSERT(ram.contains(span.data(), span.size()));
    writable += span.size();
  }
  VDEC_FUZZ_ASSERT(readable == chain.readableBytes && writable == chain.writableBytes);
  VDEC_FUZZ_ASSERT(readable + writable <= virtio::kMaxChainBytes);
  VDEC_FUZZ_ASSERT(chain.readable.size() + chain.writable.size() <= virtio::kMaxChainDescriptors);
}

// Returns false when the ring is corrupt (nothing more can be popped).
bool popOne(const FuzzGuestMemory& ram, virtio::Virtqueue& queue, bool* empty) {
  const bool available = queue.hasAvailable();
  auto chain = queue.popChain();
  if (!chain) return false;
  *empty = !chain->has_value();
  if (!available) VDEC_FUZZ_ASSERT(*empty);
  if (*empty) return true;
  checkChain(ram, **chain, queue.size());
  uint32_t written = 0;
  if ((*chain)->valid()) {
    auto request = virtio::gather(**chain, kMaxGather);
    if (request) {
      VDEC_FUZZ_ASSERT(request->size() == (*chain)->readableBytes);
    } else {
      VDEC_FUZZ_ASSERT((*chain)->readableBytes > kMaxGather);
    }
    const std::vector<std::byte> response(64, std::byte{0x5a});
    const size_t n = virtio::scatter(**chain, response);
    VDEC_FUZZ_ASSERT(n == std::min<uint64_t>(response.size(), (*chain)->writableBytes));
    written = static_cast<uint32_t>(n);
  }
  queue.pushUsed((*chain)->head, written);
  return true;
}

void poke(const FuzzGuestMemory& ram, uint64_t offset, std::span<const uint8_t> bytes) {
  if (offset > ram.size || bytes.size() > ram.size - offset) return;
  std::memcpy(ram.host + offset, bytes.data(), bytes.size());
}

// One byte anywhere in guest RAM: the first region, then the second.
void pokeAnywhere(const FuzzGuestMemory& ram, uint64_t offset, uint8_t value) {
  auto bytes = ram.memory->translate(vdec::buffers::GuestAddress{kRamBase + offset}, 1);
  if (bytes) bytes->front() = std::byte{value};
}

}  // namespace
}  // namespace vdec::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  vdec::fuzz::silenceLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vdec::fuzz;
  static const FuzzGuestMemory ram = makeFuzzGuestMemory(kRamSize, kRamBase, kExtraSize);
  ram.clear();
  ByteReader in(std::span(data, size));
  vdec::virtio::VirtqueueLayout layout;
  // Up to 1024 entries: the device refuses bigger rings (VideoDeviceAdapter::maxQueueSize), and
  // 512 pops over a 32768-entry table made single inputs take seconds under instrumentation.
  layout.size = static_cast<uint16_t>(1u << (in.u8() % 11));
  layout.nextAvail = in.u16();
  const uint32_t descOffset = in.u32();
  const uint32_t availOffset = in.u32();
  const uint32_t usedOffset = in.u32();
  layout.descUserAddr = kUserBase + descOffset;
  layout.availUserAddr = kUserBase + availOffset;
  layout.usedUserAddr = kUserBase + usedOffset;
  poke(ram, 0, in.bytes(in.u16()));

  auto queue = vdec::virtio::Virtqueue::create(ram.memory, layout);
  if (!queue) return 0;
  VDEC_FUZZ_ASSERT(queue->size() == layout.size && queue->nextAvail() == layout.nextAvail);
  int pops = 0;
  for (int op = 0; op < kMaxOps && pops < kMaxPops && !in.empty(); ++op) {
    bool empty = false;
    switch (in.u8() % 4) {
      case 0:
        ++pops;
        if (!popOne(ram, *queue, &empty)) return 0;
        break;
      case 1: {
        const uint16_t idx = in.u16();
        uint8_t bytes[2];
        std::memcpy(bytes, &idx, sizeof(bytes));  // the ring is little-endian, as is the host
        poke(ram, uint64_t{availOffset} + 2, bytes);
        break;
      }
      case 2: {
        const uint32_t offset = in.u32();
        const uint8_t value = in.u8();
        pokeAnywhere(ram, offset, value);
        break;
      }
      case 3:
        for (uint32_t i = 0; i <= queue->size() && !empty && pops < kMaxPops; ++i, ++pops) {
          if (!popOne(ram, *queue, &empty)) return 0;
        }
        break;
    }
  }
  return 0;
}
