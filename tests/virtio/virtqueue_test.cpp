// SPDX-License-Identifier: MIT
#include "virtio/virtqueue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <future>
#include <limits>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include "tests/virtio/virtio_test_util.h"
#include "vdec/base/log_limiter.h"
#include "vdec/base/logging.h"

namespace vdec::virtio {
namespace {

using testing::kGuestBase;
using testing::TestRam;
using testing::TestRing;
using vring::VRING_DESC_F_INDIRECT;
using vring::VRING_DESC_F_NEXT;
using vring::VRING_DESC_F_WRITE;

constexpr uint16_t kQueueSize = 8;
constexpr uint64_t kData = kGuestBase + 0x10000;   // payload buffers
constexpr uint64_t kTable = kGuestBase + 0x20000;  // indirect tables
constexpr uint64_t kTable2 = kGuestBase + 0x21000;

struct ChainCase {
  std::string name;
  std::function<void(TestRing&)> setup;  // fills descriptors and publishes one head
  std::string error;                     // expected error substring; empty = valid chain
  size_t readable = 0, writable = 0;
  uint64_t readableBytes = 0, writableBytes = 0;
};

void indirectEntry(TestRam& ram, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
                   uint16_t flags, uint16_t next = 0) {
  ram.write(table + 16ull * i, vring::VringDesc{addr, len, flags, next});
}

const ChainCase kCases[] = {
    {"ReadableThenWritable",
     [](TestRing& r) {
       r.setDesc(0, kData, 16, VRING_DESC_F_NEXT, 1);
       r.setDesc(1, kData + 0x100, 32, VRING_DESC_F_WRITE);
       r.publish(0);
     },
     "", 1, 1, 16, 32},
    {"SeveralDescriptors",
     [](TestRing& r) {
       r.setDesc(3, kData, 8, VRING_DESC_F_NEXT, 5);
       r.setDesc(5, kData + 8, 8, VRING_DESC_F_NEXT, 1);
       r.setDesc(1, kData + 0x100, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
       r.setDesc(2, kData + 0x200, 24, VRING_DESC_F_WRITE);
       r.publish(3);
     },
     "", 2, 2, 16, 40},
    {"IndirectTable",
     [](TestRing& r) {
       indirectEntry(r.ram, kTable, 0, kData, 12, VRING_DESC_F_NEXT, 1);
       indirectEntry(r.ram, kTable, 1, kData + 0x100, 40, VRING_DESC_F_WRITE);
       r.setDesc(0, kTable, 32, VRING_DESC_F_INDIRECT);
       r.publish(0);
     },
     "", 1, 1, 12, 40},
    {"ZeroLengthDescriptorIgnored",
     [](TestRing& r) {
       r.setDesc(0, kData, 0, VRING_DESC_F_NEXT, 1);
       r.setDesc(1, kData + 0x100, 8, VRING_DESC_F_WRITE);
       r.publish(0);
     },
     "", 0, 1, 0, 8},
    {"DescriptorLoop",
     [](TestRing& r) {
       r.setDesc(0, kData, 8, VRING_DESC_F_NEXT, 1);
       r.setDesc(1, kData + 8, 8, VRING_DESC_F_NEXT, 0);
       r.publish(0);
     },
     "loop"},
    {"ChainLongerThanQueue",
     [](TestRing& r) {
       for (uint16_t i = 0; i < kQueueSize; ++i) {
         r.setDesc(i, kData + 8ull * i, 8, VRING_DESC_F_NEXT, (i + 1) % kQueueSize);
       }
       r.publish(2);
     },
     "longer"},
    {"AddressOutsideRam",
     [](TestRing& r) {
       r.setDesc(0, kGuestBase + r.ram.size - 4, 16, 0);
       r.publish(0);
     },
     "outside"},
    {"AddressWrapsAt2To64",
     [](TestRing& r) {
       r.setDesc(0, std::numeric_limits<uint64_t>::max() - 7, 16, 0);
       r.publish(0);
     },
     "bad guest range"},
    {"ReadableAfterWritable",
     [](TestRing& r) {
       r.setDesc(0, kData, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
       r.setDesc(1, kData + 8, 8, 0);
       r.publish(0);
     },
     "readable descriptor after"},
    {"NestedIndirect",
     [](TestRing& r) {
       indirectEntry(r.ram, kTable2, 0, kData, 8, 0);
       indirectEntry(r.ram, kTable, 0, kTable2, 16, VRING_DESC_F_INDIRECT);
       r.setDesc(0, kTable, 16, VRING_DESC_F_INDIRECT);
       r.publish(0);
     },
     "nested"},
    {"IndirectLengthNotMultipleOf16",
     [](TestRing& r) {
       r.setDesc(0, kTable, 24, VRING_DESC_F_INDIRECT);
       r.publish(0);
     },
     "indirect table length"},
    {"IndirectLengthZero",
     [](TestRing& r) {
       r.setDesc(0, kTable, 0, VRING_DESC_F_INDIRECT);
       r.publish(0);
     },
     "indirect table length"},
    {"IndirectWithNext",
     [](TestRing& r) {
       r.setDesc(0, kTable, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
       r.publish(0);
     },
     "NEXT"},
    {"IndirectTableOutsideRam",
     [](TestRing& r) {
       r.setDesc(0, kGuestBase + r.ram.size, 16, VRING_DESC_F_INDIRECT);
       r.publish(0);
     },
     "indirect table"},
    {"IndirectLoop",
     [](TestRing& r) {
       indirectEntry(r.ram, kTable, 0, kData, 8, VRING_DESC_F_NEXT, 1);
       indirectEntry(r.ram, kTable, 1, kData, 8, VRING_DESC_F_NEXT, 0);
       r.setDesc(0, kTable, 32, VRING_DESC_F_INDIRECT);
       r.publish(0);
     },
     "loop"},
    // Issue 10 finding 1: a table is bounded by kMaxIndirectEntries before it is even read.
    {"IndirectTableOverLimit",
     [](TestRing& r) {
       r.setDesc(0, kTable, 0xFFFFFFF0u, VRING_DESC_F_INDIRECT);
       r.publish(0);
     },
     "indirect table of 268435455 entries over 1024"},
    {"IndirectTableOneOverLimit",
     [](TestRing& r) {
       r.setDesc(0, kTable, (kMaxIndirectEntries + 1) * 16, VRING_DESC_F_INDIRECT);
       r.publish(0);
     },
     "indirect table of 1025 entries"},
    {"IndirectTableAtLimit",
     [](TestRing& r) {
       for (uint32_t i = 0; i < kMaxIndirectEntries; ++i) {
         const bool last = i + 1 == kMaxIndirectEntries;
         indirectEntry(r.ram, kTable, static_cast<uint16_t>(i), kData + i, 1,
                       last ? 0 : VRING_DESC_F_NEXT, static_cast<uint16_t>(i + 1));
       }
       r.setDesc(0, kTable, kMaxIndirectEntries * 16, VRING_DESC_F_INDIRECT);
       r.publish(0);
     },
     "", kMaxIndirectEntries, 0, kMaxIndirectEntries, 0},
    {"IndirectLoopInLongTable",
     [](TestRing& r) {
       indirectEntry(r.ram, kTable, 0, kData, 0, VRING_DESC_F_NEXT, 1);
       indirectEntry(r.ram, kTable, 1, kData, 0, VRING_DESC_F_NEXT, 0);
       r.setDesc(0, kTable, kMaxIndirectEntries * 16, VRING_DESC_F_INDIRECT);
       r.publish(0);
     },
     "loop"},
    {"DirectPlusIndirectOverChainLimit",
     [](TestRing& r) {
       for (uint16_t i = 0; i + 1 < kQueueSize; ++i) {
         r.setDesc(i, kData, 1, VRING_DESC_F_NEXT, static_cast<uint16_t>(i + 1));
       }
       for (uint32_t i = 0; i < kMaxIndirectEntries; ++i) {
         indirectEntry(r.ram, kTable, static_cast<uint16_t>(i), kData, 1, VRING_DESC_F_NEXT,
                       static_cast<uint16_t>(i + 1));
       }
       r.setDesc(kQueueSize - 1, kTable, kMaxIndirectEntries * 16, VRING_DESC_F_INDIRECT);
       r.publish(0);
     },
     "chain of more than 1024 descriptors"},
    {"HeadOutsideQueue", [](TestRing& r) { r.publish(kQueueSize + 1); }, "head"},
    {"NextOutsideTable",
     [](TestRing& r) {
       r.setDesc(0, kData, 8, VRING_DESC_F_NEXT, 200);
       r.publish(0);
     },
     "next 200"},
    {"TooManyBytes",
     [](TestRing& r) {
       // 33 indirect entries of 2 MiB each (all the same range) describe 66 MiB.
       for (uint16_t i = 0; i < 33; ++i) {
         indirectEntry(r.ram, kTable, i, kGuestBase + 0x100000, 2u << 20, VRING_DESC_F_NEXT,
                       static_cast<uint16_t>(i + 1));
       }
       indirectEntry(r.ram, kTable, 32, kGuestBase + 0x100000, 2u << 20, 0);
       r.setDesc(0, kTable, 33 * 16, VRING_DESC_F_INDIRECT);
       r.publish(0);
     },
     "exceeds"},
};

class ChainTest : public ::testing::TestWithParam<ChainCase> {};

TEST_P(ChainTest, Pop) {
  const ChainCase& c = GetParam();
  TestRam ram;
  TestRing ring(ram, kQueueSize, 0);
  Virtqueue queue = ring.queue();
  c.setup(ring);
  const uint16_t head = ram.read<uint16_t>(ring.avail + 4);

  auto popped = queue.popChain();
  ASSERT_TRUE(popped.has_value()) << popped.error().message;
  ASSERT_TRUE(popped->has_value());
  const DescriptorChain& chain = **popped;
  EXPECT_EQ(chain.head, head);
  if (c.error.empty()) {
    EXPECT_TRUE(chain.valid()) << chain.error;
    EXPECT_EQ(chain.readable.size(), c.readable);
    EXPECT_EQ(chain.writable.size(), c.writable);
    EXPECT_EQ(chain.readableBytes, c.readableBytes);
    EXPECT_EQ(chain.writableBytes, c.writableBytes);
  } else {
    EXPECT_FALSE(chain.valid());
    EXPECT_NE(chain.error.find(c.error), std::string::npos) << chain.error;
    EXPECT_TRUE(chain.readable.empty() && chain.writable.empty());
  }
  // Either way the ring moves on and the chain can be completed.
  EXPECT_EQ(queue.nextAvail(), 1);
  queue.pushUsed(chain.head, 0);
  EXPECT_EQ(ring.usedIdx(), 1);
  EXPECT_EQ(ring.usedElem(0).id, chain.head);
  auto empty = queue.popChain();
  ASSERT_TRUE(empty.has_value());
  EXPECT_FALSE(empty->has_value());
}

INSTANTIATE_TEST_SUITE_P(Virtqueue, ChainTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param.name; });

TEST(VirtqueueTest, AvailIndexJumpIsAnError) {
  TestRam ram;
  TestRing ring(ram, kQueueSize, 0);
  Virtqueue queue = ring.queue();
  ring.setAvailIdx(kQueueSize + 1);
  auto popped = queue.popChain();
  ASSERT_FALSE(popped.has_value());
  EXPECT_NE(popped.error().message.find("jumped"), std::string::npos);
}

TEST(VirtqueueTest, IndicesWrapAround) {
  TestRam ram;
  TestRing ring(ram, kQueueSize, 0);
  ring.setAvailIdx(65535);
  Virtqueue queue = ring.queue(65535);
  ring.setDesc(0, kData, 4, VRING_DESC_F_WRITE);
  ring.publish(0);  // slot 65535 % 8 = 7, avail idx wraps to 0
  ring.publish(0);
  for (int i = 0; i < 2; ++i) {
    auto popped = queue.popChain();
    ASSERT_TRUE(popped.has_value() && popped->has_value());
    EXPECT_TRUE((*popped)->valid());
    queue.pushUsed(0, 4);
  }
  EXPECT_EQ(queue.nextAvail(), 1);
  EXPECT_FALSE(queue.hasAvailable());
  EXPECT_EQ(ring.usedIdx(), 2);
}

TEST(VirtqueueTest, RejectsBadLayouts) {
  TestRam ram;
  TestRing ring(ram, kQueueSize, 0);
  VirtqueueLayout layout = ring.layout();
  layout.size = 6;  // not a power of two
  EXPECT_FALSE(Virtqueue::create(ram.memory, layout).has_value());
  layout = ring.layout();
  layout.descUserAddr += 8;  // misaligned
  EXPECT_FALSE(Virtqueue::create(ram.memory, layout).has_value());
  layout = ring.layout();
  layout.usedUserAddr = testing::kUserBase + ram.size - 8;  // runs past RAM
  EXPECT_FALSE(Virtqueue::create(ram.memory, layout).has_value());
  EXPECT_FALSE(Virtqueue::create(nullptr, ring.layout()).has_value());
}

TEST(VirtqueueTest, GatherScatterAndNotify) {
  TestRam ram;
  TestRing ring(ram, kQueueSize, 0);
  Virtqueue queue = ring.queue();
  UniqueFd call(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  queue.setCallFd(call.get());
  ram.write<uint32_t>(kData, 0x11223344);
  ram.write<uint32_t>(kData + 0x40, 0x55667788);
  ring.setDesc(0, kData, 4, VRING_DESC_F_NEXT, 1);
  ring.setDesc(1, kData + 0x40, 4, VRING_DESC_F_NEXT, 2);
  ring.setDesc(2, kData + 0x100, 3, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
  ring.setDesc(3, kData + 0x200, 3, VRING_DESC_F_WRITE);
  ring.publish(0);
  auto popped = queue.popChain();
  ASSERT_TRUE(popped.has_value() && popped->has_value());
  const DescriptorChain& chain = **popped;

  auto bytes = gather(chain, 64);
  ASSERT_TRUE(bytes.has_value());
  ASSERT_EQ(bytes->size(), 8u);
  EXPECT_EQ(std::to_integer<int>((*bytes)[0]), 0x44);
  EXPECT_EQ(std::to_integer<int>((*bytes)[4]), 0x88);
  EXPECT_FALSE(gather(chain, 7).has_value());

  const std::byte response[] = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4},
                                std::byte{5}, std::byte{6}, std::byte{7}};
  EXPECT_EQ(scatter(chain, response), 6u);  // only 3 + 3 writable bytes
  EXPECT_EQ(std::to_integer<int>(ram.at(kData + 0x100, 3)[2]), 3);
  EXPECT_EQ(std::to_integer<int>(ram.at(kData + 0x200, 3)[0]), 4);

  queue.pushUsed(chain.head, 6);
  queue.notify();
  eventfd_t count = 0;
  EXPECT_EQ(::eventfd_read(call.get(), &count), 0);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(ring.usedElem(0).len, 6u);
}

}  // namespace
}  // namespace vdec::virtio

namespace vdec::virtio {
namespace {

// Issue 10 finding 1, as attacked: guest RAM large enough that a 0xFFFFFFF0-byte indirect table
// translates, its first two entries pointing at each other. The walk used to take len/16 = 268M
// steps (0.8 s of device thread per chain); it must now stop before reading the table.
TEST(VirtqueueTest, HugeIndirectTableIsRefusedUpFront) {
  TestRam ram((4ull << 30) + (1 << 20));  // sparse memfd: costs address space only
  TestRing ring(ram, kQueueSize, 0);
  Virtqueue queue = ring.queue();
  indirectEntry(ram, kTable, 0, kData, 0, VRING_DESC_F_NEXT, 1);
  indirectEntry(ram, kTable, 1, kData, 0, VRING_DESC_F_NEXT, 0);
  ring.setDesc(0, kTable, 0xFFFFFFF0u, VRING_DESC_F_INDIRECT);
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < kQueueSize; ++i) ring.publish(0);
    for (int i = 0; i < kQueueSize; ++i) {
      auto popped = queue.popChain();
      ASSERT_TRUE(popped.has_value() && popped->has_value());
      EXPECT_NE((**popped).error.find("indirect table of 268435455 entries over 1024"),
                std::string::npos)
          << (**popped).error;
      queue.pushUsed((**popped).head, 0);
    }
  }
}

// Issue 10 finding 3 at the ring: unsealable guest RAM truncated under the rings. The device
// thread used to die of SIGBUS; now the chain or the ring fails.
TEST(VirtqueueTest, TruncatedGuestRamFailsChainsNotTheDaemon) {
  TestRam ram(4u << 20, /*sealed=*/false);
  EXPECT_FALSE(ram.memory->sealed());
  TestRing ring(ram, kQueueSize, 0);
  Virtqueue queue = ring.queue();
  // Buffers in the 4th MiB, which the front-end then cuts off.
  ring.setDesc(0, kGuestBase + (3u << 20), 32, VRING_DESC_F_NEXT, 1);
  ring.setDesc(1, kGuestBase + (3u << 20) + 4096, 32, VRING_DESC_F_WRITE);
  ring.publish(0);
  ASSERT_EQ(::ftruncate(ram.memory->regions()[0].fd.get(), 1u << 20), 0);
  auto popped = queue.popChain();
  ASSERT_TRUE(popped.has_value() && popped->has_value());
  ASSERT_TRUE((**popped).valid());  // the walk reads the table only
  auto request = gather(**popped, 1 << 20);
  ASSERT_FALSE(request.has_value());
  EXPECT_NE(request.error().message.find("faulted"), std::string::npos);
  const std::vector<std::byte> response(16);
  EXPECT_EQ(scatter(**popped, response), 0u);
  queue.pushUsed((**popped).head, 0);
  EXPECT_EQ(ring.usedIdx(), 1);
  ASSERT_EQ(::ftruncate(ram.memory->regions()[0].fd.get(), 0), 0);  // the rings too
  EXPECT_FALSE(queue.hasAvailable());
  EXPECT_FALSE(queue.popChain().has_value());
  queue.pushUsed(0, 0);  // lost, logged; no crash
}

// Bad chains are logged in every build (not only with SPDLOG debug macros compiled in), folded
// into one line per cause per second.
TEST(VirtqueueTest, BadChainsAreLoggedRateLimited) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  logs::virtio().sinks().push_back(sink);
  // A cause no other test produces (the limiter is process-wide): a faulting indirect table.
  TestRam ram(4u << 20, /*sealed=*/false);
  TestRing ring(ram, kQueueSize, 0);
  Virtqueue queue = ring.queue();
  ring.setDesc(0, kGuestBase + (3u << 20), 32, VRING_DESC_F_INDIRECT);
  ASSERT_EQ(::ftruncate(ram.memory->regions()[0].fd.get(), 1u << 20), 0);
  for (int i = 0; i < 6; ++i) ring.publish(0);
  for (int i = 0; i < 6; ++i) {
    auto popped = queue.popChain();
    ASSERT_TRUE(popped.has_value() && popped->has_value());
    EXPECT_FALSE((**popped).valid());
    queue.pushUsed((**popped).head, 0);
  }
  logs::virtio().sinks().pop_back();
  size_t lines = 0;
  for (const auto& line : sink->last_formatted()) {
    if (line.find("malformed descriptor chain") != std::string::npos) ++lines;
  }
  EXPECT_GE(lines, 1u);
  EXPECT_LT(lines, 6u);  // rate-limited (6 pops take far less than the 1 s window)
}

// Issue 10 finding 2b: a call eventfd whose counter is at its maximum, given blocking: notify()
// used to block in write() for ever. The counter is drained from here if it does block, so a
// failing run ends.
TEST(VirtqueueTest, NotifyNeverBlocksOnAFullCallFd) {
  TestRam ram;
  TestRing ring(ram, kQueueSize, 0);
  Virtqueue queue = ring.queue();
  UniqueFd call(::eventfd(0, EFD_CLOEXEC));
  ASSERT_EQ(::eventfd_write(call.get(), 0xfffffffffffffffeull), 0);
  queue.setCallFd(call.get());
  std::promise<void> done;
  std::thread notifier([&] {
    queue.notify();
    done.set_value();
  });
  const bool returned =
      done.get_future().wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (!returned) {
    eventfd_t value = 0;
    ::eventfd_read(call.get(), &value);  // unblocks the writer
  }
  notifier.join();
  EXPECT_TRUE(returned) << "notify() blocked on a full eventfd";
}

TEST(LogLimiterTest, FoldsRepeatsIntoTheNextLine) {
  LogLimiter limiter(std::chrono::hours(1));
  EXPECT_EQ(limiter.admit("a"), std::optional<uint64_t>(1));
  EXPECT_EQ(limiter.admit("a"), std::nullopt);
  EXPECT_EQ(limiter.admit("a"), std::nullopt);
  EXPECT_EQ(limiter.admit("b"), std::optional<uint64_t>(1));  // causes are independent
  LogLimiter always(std::chrono::milliseconds(0));
  EXPECT_EQ(always.admit("a"), std::optional<uint64_t>(1));
  EXPECT_EQ(always.admit("a"), std::optional<uint64_t>(1));
}

}  // namespace
}  // namespace vdec::virtio
