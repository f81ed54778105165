// SPDX-License-Identifier: MIT
// VIRTIO_RING_F_EVENT_IDX on the device side: vring_need_event, call suppression, avail_event.
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include <gtest/gtest.h>

#include "tests/virtio/virtio_test_util.h"
#include "virtio/virtio_ring.h"
#include "virtio/virtqueue.h"

namespace vdec::virtio {
namespace {

using testing::kGuestBase;
using testing::TestRam;
using testing::TestRing;
using vring::needEvent;
using vring::VRING_DESC_F_WRITE;

constexpr uint16_t kSize = 8;
constexpr uint64_t kData = kGuestBase + 0x10000;

Virtqueue eventIdxQueue(TestRing& ring, uint16_t nextAvail = 0) {
  VirtqueueLayout layout = ring.layout(nextAvail);
  layout.eventIdx = true;
  auto queue = Virtqueue::create(ring.ram.memory, layout);
  EXPECT_TRUE(queue.has_value()) << (queue ? "" : queue.error().message);
  return std::move(*queue);
}

uint16_t availEvent(const TestRing& ring) {
  return ring.ram.read<uint16_t>(ring.used + vring::availEventOffset(ring.size));
}
void setAvailEvent(TestRing& ring, uint16_t value) {
  ring.ram.write<uint16_t>(ring.used + vring::availEventOffset(ring.size), value);
}
void setUsedEvent(TestRing& ring, uint16_t value) {
  ring.ram.write<uint16_t>(ring.avail + vring::usedEventOffset(ring.size), value);
}
// Signals taken from the call eventfd since the last call (0 when none).
uint64_t takeCalls(int fd) {
  eventfd_t count = 0;
  return ::eventfd_read(fd, &count) == 0 ? count : 0;
}

TEST(EventIdxTest, NeedEventArithmetic) {
  // Notify iff the event index lies in [old, new).
  EXPECT_TRUE(needEvent(0, 1, 0));
  EXPECT_FALSE(needEvent(1, 1, 0));
  EXPECT_TRUE(needEvent(3, 5, 2));
  EXPECT_TRUE(needEvent(2, 5, 2));
  EXPECT_FALSE(needEvent(5, 5, 2));
  EXPECT_FALSE(needEvent(1, 5, 2));
  EXPECT_FALSE(needEvent(7, 7, 7));  // nothing new: never
  // Across the 16-bit wrap: [65534, 2) = {65534, 65535, 0, 1}.
  for (uint16_t e : {uint16_t{65534}, uint16_t{65535}, uint16_t{0}, uint16_t{1}}) {
    EXPECT_TRUE(needEvent(e, 2, 65534)) << e;
  }
  for (uint16_t e : {uint16_t{2}, uint16_t{3}, uint16_t{65533}, uint16_t{32768}}) {
    EXPECT_FALSE(needEvent(e, 2, 65534)) << e;
  }
  EXPECT_TRUE(needEvent(65535, 0, 65535));
  EXPECT_FALSE(needEvent(0, 0, 65535));
  // A full 65535-entry step covers every index but new itself.
  EXPECT_TRUE(needEvent(1, 0, 1));
  EXPECT_FALSE(needEvent(0, 0, 1));
}

TEST(EventIdxTest, CallsFollowUsedEvent) {
  TestRam ram;
  TestRing ring(ram, kSize, 0);
  Virtqueue queue = eventIdxQueue(ring);
  UniqueFd call(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  queue.setCallFd(call.get());
  setUsedEvent(ring, 0);

  queue.pushUsed(0, 0);
  queue.notify();  // the first notify always signals
  EXPECT_EQ(takeCalls(call.get()), 1u);
  queue.pushUsed(1, 0);
  queue.notify();  // used_event 0 is not in [1, 2): the guest has not caught up yet
  EXPECT_EQ(takeCalls(call.get()), 0u);
  queue.notify();  // nothing new
  EXPECT_EQ(takeCalls(call.get()), 0u);
  setUsedEvent(ring, 2);  // the guest consumed both and waits for the third
  queue.pushUsed(2, 0);
  queue.pushUsed(3, 0);
  queue.notify();  // 2 in [2, 4)
  EXPECT_EQ(takeCalls(call.get()), 1u);
  setUsedEvent(ring, 6);  // the guest wants a wake-up only after the 7th
  queue.pushUsed(4, 0);
  queue.notify();
  queue.pushUsed(5, 0);
  queue.notify();
  EXPECT_EQ(takeCalls(call.get()), 0u);
  queue.pushUsed(6, 0);
  queue.notify();  // 6 in [6, 7)
  EXPECT_EQ(takeCalls(call.get()), 1u);
  queue.setCallFd(call.get());  // a new call fd: the next notify signals whatever used_event says
  queue.notify();
  EXPECT_EQ(takeCalls(call.get()), 1u);
}

TEST(EventIdxTest, WithoutTheFeatureEveryNotifySignalsAndAvailEventIsUntouched) {
  TestRam ram;
  TestRing ring(ram, kSize, 0);
  Virtqueue queue = ring.queue();
  UniqueFd call(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  queue.setCallFd(call.get());
  setUsedEvent(ring, 0);
  setAvailEvent(ring, 0xabcd);
  for (uint16_t i = 0; i < 3; ++i) {
    queue.pushUsed(i, 0);
    queue.notify();
  }
  queue.notify();  // even with nothing new, as before
  EXPECT_EQ(takeCalls(call.get()), 4u);
  EXPECT_FALSE(queue.hasAvailable());
  auto popped = queue.popChain();
  ASSERT_TRUE(popped.has_value());
  EXPECT_FALSE(popped->has_value());
  EXPECT_EQ(availEvent(ring), 0xabcd);
}

TEST(EventIdxTest, AvailEventIsPublishedWhenTheRingRunsEmpty) {
  TestRam ram;
  TestRing ring(ram, kSize, 0);
  Virtqueue queue = eventIdxQueue(ring);
  setAvailEvent(ring, 0xabcd);
  ring.setDesc(0, kData, 4, VRING_DESC_F_WRITE);
  ring.publish(0);
  ring.publish(0);
  for (int i = 0; i < 2; ++i) {
    auto popped = queue.popChain();
    ASSERT_TRUE(popped.has_value() && popped->has_value());
    // While the ring has buffers the device does not ask for kicks.
    EXPECT_EQ(availEvent(ring), 0xabcd);
  }
  auto empty = queue.popChain();
  ASSERT_TRUE(empty.has_value());
  EXPECT_FALSE(empty->has_value());
  EXPECT_EQ(availEvent(ring), 2);
  // The driver's next buffer (2 -> 3) must be kicked: 2 in [2, 3).
  EXPECT_TRUE(needEvent(availEvent(ring), 3, 2));
  // hasAvailable() arms the same way (the event queue waits through it).
  ring.publish(0);
  ASSERT_TRUE(queue.popChain()->has_value());
  setAvailEvent(ring, 0);
  EXPECT_FALSE(queue.hasAvailable());
  EXPECT_EQ(availEvent(ring), 3);
}

TEST(EventIdxTest, AvailEventWrapsWithTheIndex) {
  TestRam ram;
  TestRing ring(ram, kSize, 0);
  ring.setAvailIdx(65535);
  Virtqueue queue = eventIdxQueue(ring, 65535);
  ring.setDesc(0, kData, 4, VRING_DESC_F_WRITE);
  ring.publish(0);  // avail idx wraps to 0
  ASSERT_TRUE(queue.popChain()->has_value());
  EXPECT_FALSE(queue.hasAvailable());
  EXPECT_EQ(availEvent(ring), 0);
  EXPECT_TRUE(needEvent(availEvent(ring), 1, 0));
}

// The lost-wakeup race, interleaved by hand. The device reads avail idx N (empty); the guest then
// publishes N+1 and, reading the stale avail_event, decides not to kick; the device publishes
// avail_event and re-reads the avail idx. The re-read must find the buffer: nobody kicks it.
TEST(EventIdxTest, BufferAddedWhileTheDeviceGoesIdleIsNotLost) {
  TestRam ram;
  TestRing ring(ram, kSize, 0);
  Virtqueue queue = eventIdxQueue(ring);
  ring.setDesc(0, kData, 4, VRING_DESC_F_WRITE);
  ring.setDesc(1, kData + 0x100, 4, VRING_DESC_F_WRITE);
  ring.publish(0);
  ASSERT_TRUE(queue.popChain()->has_value());  // busy: avail_event still says 0
  bool guestKicked = true;
  queue.setEmptyRingHookForTest([&] {
    const uint16_t old = ring.availIdx;
    ring.publish(1);
    guestKicked = needEvent(availEvent(ring), ring.availIdx, old);
  });
  auto popped = queue.popChain();
  queue.setEmptyRingHookForTest(nullptr);
  EXPECT_FALSE(guestKicked) << "the race window was not reached";
  ASSERT_TRUE(popped.has_value() && popped->has_value()) << "lost wake-up";
  EXPECT_EQ((*popped)->head, 1);
  // The other order: the device went idle first; the guest sees the new avail_event and kicks.
  ASSERT_FALSE(queue.popChain()->has_value());
  const uint16_t old = ring.availIdx;
  ring.publish(0);
  EXPECT_TRUE(needEvent(availEvent(ring), ring.availIdx, old));
}

// avail_event trails the used ring and used_event the avail ring: a ring whose entries fit but
// whose event field would lie past guest RAM is refused, with or without the feature.
TEST(EventIdxTest, EventFieldsOutsideGuestMemoryAreRefused) {
  TestRam ram;
  TestRing ring(ram, kSize, 0);
  const uint64_t end = testing::kUserBase + ram.size;
  for (bool eventIdx : {false, true}) {
    VirtqueueLayout layout = ring.layout();
    layout.eventIdx = eventIdx;
    layout.usedUserAddr = end - (4 + 8 * kSize);  // ring[] ends at RAM's end, avail_event past
    EXPECT_FALSE(Virtqueue::create(ram.memory, layout).has_value());
    layout.usedUserAddr = end - vring::usedRingSize(kSize) - 2;  // fits (4-byte aligned)
    EXPECT_TRUE(Virtqueue::create(ram.memory, layout).has_value());
    layout = ring.layout();
    layout.eventIdx = eventIdx;
    layout.availUserAddr = end - (4 + 2 * kSize);  // used_event past
    EXPECT_FALSE(Virtqueue::create(ram.memory, layout).has_value());
    layout.availUserAddr = end - vring::availRingSize(kSize);
    EXPECT_TRUE(Virtqueue::create(ram.memory, layout).has_value());
  }
}

}  // namespace
}  // namespace vdec::virtio
