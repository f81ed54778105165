// SPDX-License-Identifier: MIT
#include "virtio/virtqueue.h"

#include <sys/eventfd.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "tests/virtio/virtio_test_util.h"

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
