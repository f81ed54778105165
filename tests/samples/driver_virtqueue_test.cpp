// SPDX-License-Identifier: MIT
// DriverVirtqueue against a tiny device that reads the rings straight from the RAM mapping.
#include "samples/harness/driver_virtqueue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

#include "tests/samples/test_ring_device.h"
#include "virtio/virtio_ring.h"

namespace vdec::harness {
namespace {

using buffers::GuestAddress;
using buffers::GuestRange;
using testing::TestRingDevice;

class DriverVirtqueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ram = GuestRam::create(1 << 20);
    ASSERT_TRUE(ram);
    ram_ = std::move(*ram);
  }

  TestRingDevice deviceFor(DriverVirtqueue& queue) {
    auto host = [this](uint64_t gpa) { return ram_.at(gpa, 1).data(); };
    return TestRingDevice([this](uint64_t gpa, uint64_t len) { return ram_.at(gpa, len); },
                          host(queue.descGpa()), host(queue.availGpa()), host(queue.usedGpa()),
                          queue.size());
  }

  GuestRam ram_;
};

TEST_F(DriverVirtqueueTest, LayoutIsAlignedInsideRam) {
  auto queue = DriverVirtqueue::create(ram_, 0, 256);
  ASSERT_TRUE(queue) << queue.error().message;
  EXPECT_EQ(queue->descGpa() % 4096, 0u);
  EXPECT_EQ(queue->availGpa(), queue->descGpa() + 16 * 256);
  EXPECT_EQ(queue->usedGpa() % 4096, 0u);
  EXPECT_GE(queue->usedGpa(), queue->availGpa() + vring::availRingSize(256));
  EXPECT_EQ(queue->numFree(), 256u);
  EXPECT_FALSE(DriverVirtqueue::create(ram_, 0, 100));  // not a power of two
}

TEST_F(DriverVirtqueueTest, RoundTripThroughTheRings) {
  auto queue = DriverVirtqueue::create(ram_, 0, 8);
  ASSERT_TRUE(queue);
  auto device = deviceFor(*queue);
  auto request = ram_.allocContiguous(64);
  auto response = ram_.allocContiguous(64);
  ASSERT_TRUE(request && response);
  std::memcpy(ram_.at(request->address.value, 4).data(), "ping", 4);
  const GuestRange readable[] = {{request->address, 16}};
  const GuestRange writable[] = {{response->address, 24}};
  auto head = queue->addChain(readable, writable);
  ASSERT_TRUE(head);
  EXPECT_EQ(queue->numFree(), 6u);
  EXPECT_FALSE(queue->popUsed().value().has_value());

  queue->kick();
  uint64_t kicks = 0;
  ASSERT_EQ(::read(queue->kickFd(), &kicks, sizeof(kicks)), 8);
  EXPECT_EQ(kicks, 1u);

  auto chain = device.popAvail();
  ASSERT_TRUE(chain);
  EXPECT_FALSE(device.popAvail());
  EXPECT_EQ(chain->head, *head);
  EXPECT_FALSE(chain->indirect);
  ASSERT_EQ(chain->descs.size(), 2u);
  EXPECT_EQ(chain->descs[0].gpa, request->address.value);
  EXPECT_EQ(chain->descs[0].len, 16u);
  EXPECT_FALSE(chain->descs[0].writable);
  EXPECT_EQ(chain->descs[1].gpa, response->address.value);
  EXPECT_TRUE(chain->descs[1].writable);
  EXPECT_EQ(std::memcmp(ram_.at(chain->descs[0].gpa, 4).data(), "ping", 4), 0);

  std::memcpy(ram_.at(chain->descs[1].gpa, 4).data(), "pong", 4);
  device.pushUsed(chain->head, 4);
  const uint64_t one = 1;
  ASSERT_EQ(::write(queue->callFd(), &one, sizeof(one)), 8);
  auto called = queue->waitCall(std::chrono::milliseconds(1000));
  ASSERT_TRUE(called && *called);

  auto used = queue->popUsed();
  ASSERT_TRUE(used && used->has_value());
  EXPECT_EQ((*used)->head, *head);
  EXPECT_EQ((*used)->len, 4u);
  EXPECT_EQ(std::memcmp(ram_.at(response->address.value, 4).data(), "pong", 4), 0);
  EXPECT_EQ(queue->numFree(), 8u);
  EXPECT_EQ(queue->inFlight(), 0u);
  auto none = queue->waitCall(std::chrono::milliseconds(10));
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST_F(DriverVirtqueueTest, IndirectTableForLongChains) {
  auto queue = DriverVirtqueue::create(ram_, 0, 4);
  ASSERT_TRUE(queue);
  queue->setIndirectThreshold(2);
  auto device = deviceFor(*queue);
  const GuestRange readable[] = {{GuestAddress{ram_.base() + 0x10000}, 88},
                                 {GuestAddress{ram_.base() + 0x11000}, 16}};
  const GuestRange writable[] = {{GuestAddress{ram_.base() + 0x12000}, 8}};
  auto head = queue->addChain(readable, writable);
  ASSERT_TRUE(head);
  EXPECT_EQ(queue->numFree(), 3u);  // one descriptor for the whole chain
  const GuestRange shortChain[] = {{GuestAddress{ram_.base() + 0x13000}, 8}};
  ASSERT_TRUE(queue->addChain(shortChain, writable));
  EXPECT_EQ(queue->numFree(), 1u);  // two descriptors: direct

  auto chain = device.popAvail();
  ASSERT_TRUE(chain);
  EXPECT_TRUE(chain->indirect);
  ASSERT_EQ(chain->descs.size(), 3u);
  EXPECT_EQ(chain->descs[0].len, 88u);
  EXPECT_EQ(chain->descs[1].gpa, ram_.base() + 0x11000);
  EXPECT_TRUE(chain->descs[2].writable);
  auto direct = device.popAvail();
  ASSERT_TRUE(direct);
  EXPECT_FALSE(direct->indirect);
  EXPECT_EQ(direct->descs.size(), 2u);

  // Completion out of order.
  device.pushUsed(direct->head, 8);
  device.pushUsed(chain->head, 8);
  auto first = queue->popUsed();
  auto second = queue->popUsed();
  ASSERT_TRUE(first && *first && second && *second);
  EXPECT_EQ((*first)->head, direct->head);
  EXPECT_EQ((*second)->head, *head);
  EXPECT_EQ(queue->numFree(), 4u);
}

TEST_F(DriverVirtqueueTest, FullRingAndBadDeviceAnswers) {
  auto queue = DriverVirtqueue::create(ram_, 0, 2);
  ASSERT_TRUE(queue);
  auto device = deviceFor(*queue);
  const GuestRange one[] = {{GuestAddress{ram_.base() + 0x10000}, 8}};
  ASSERT_TRUE(queue->addChain(one, one));
  auto full = queue->addChain(one, {});
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kOutOfMemory);

  auto chain = device.popAvail();
  ASSERT_TRUE(chain);
  device.pushUsed(static_cast<uint16_t>(chain->head ^ 1), 0);  // a head that is not in flight
  EXPECT_FALSE(queue->popUsed());
}

TEST_F(DriverVirtqueueTest, NoKickWhenDeviceSuppressesNotifications) {
  auto queue = DriverVirtqueue::create(ram_, 0, 4);
  ASSERT_TRUE(queue);
  auto device = deviceFor(*queue);
  device.setUsedFlags(vring::VRING_USED_F_NO_NOTIFY);
  const GuestRange one[] = {{GuestAddress{ram_.base() + 0x10000}, 8}};
  ASSERT_TRUE(queue->addChain({}, one));
  queue->kick();
  uint64_t kicks = 0;
  EXPECT_EQ(::read(queue->kickFd(), &kicks, sizeof(kicks)), -1);  // EAGAIN: nothing written
  EXPECT_TRUE(device.popAvail());
}

// EVENT_IDX, driver side: kicks follow the device's avail_event (vring_need_event over the
// avail idx moved since the last kick); used_event follows what the driver consumed, published
// after each element and again (then re-checked) when the ring is found empty.
TEST_F(DriverVirtqueueTest, EventIdxKicksAndUsedEvent) {
  auto queue = DriverVirtqueue::create(ram_, 0, 8);
  ASSERT_TRUE(queue);
  queue->setEventIdx(true);
  auto device = deviceFor(*queue);
  auto* availEvent = reinterpret_cast<uint16_t*>(
      ram_.at(queue->usedGpa() + vring::availEventOffset(8), 2).data());
  auto usedEvent = [&] {
    uint16_t v = 0;
    std::memcpy(&v, ram_.at(queue->availGpa() + vring::usedEventOffset(8), 2).data(), 2);
    return v;
  };
  device.setUsedFlags(vring::VRING_USED_F_NO_NOTIFY);  // ignored with EVENT_IDX
  const GuestRange one[] = {{GuestAddress{ram_.base() + 0x10000}, 8}};
  auto kicked = [&] {
    uint64_t n = 0;
    return ::read(queue->kickFd(), &n, sizeof(n)) == sizeof(n);
  };

  ASSERT_TRUE(queue->addChain({}, one));
  queue->kick();  // avail_event 0 in [0, 1)
  EXPECT_TRUE(kicked());
  ASSERT_TRUE(queue->addChain({}, one));
  ASSERT_TRUE(queue->addChain({}, one));
  queue->kick();  // the device is busy (avail_event still 0): 0 not in [1, 3)
  EXPECT_FALSE(kicked());
  *availEvent = 3;  // the device ran the ring empty at 3
  ASSERT_TRUE(queue->addChain({}, one));
  queue->kick();
  EXPECT_TRUE(kicked());
  EXPECT_EQ(queue->kicks(), 2u);

  for (int i = 0; i < 2; ++i) {
    auto chain = device.popAvail();
    ASSERT_TRUE(chain);
    device.pushUsed(chain->head, 0);
  }
  auto used = queue->popUsed();
  ASSERT_TRUE(used && *used);
  EXPECT_EQ(usedEvent(), 1);  // as virtqueue_get_buf: interrupt me for the next one
  used = queue->popUsed();
  ASSERT_TRUE(used && *used);
  EXPECT_EQ(usedEvent(), 2);
  used = queue->popUsed();
  ASSERT_TRUE(used);
  EXPECT_FALSE(*used);
  EXPECT_EQ(usedEvent(), 2);
  // The device's next completion (2 -> 3) is signalled: 2 in [2, 3).
  EXPECT_TRUE(vring::needEvent(usedEvent(), 3, 2));
}

TEST_F(DriverVirtqueueTest, WithoutEventIdxTheEventFieldsAreNotWritten) {
  auto queue = DriverVirtqueue::create(ram_, 0, 8);
  ASSERT_TRUE(queue);
  auto device = deviceFor(*queue);
  const GuestRange one[] = {{GuestAddress{ram_.base() + 0x10000}, 8}};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(queue->addChain({}, one));
    queue->kick();
  }
  EXPECT_EQ(queue->kicks(), 3u);  // every kick without NO_NOTIFY
  auto chain = device.popAvail();
  ASSERT_TRUE(chain);
  device.pushUsed(chain->head, 0);
  ASSERT_TRUE(queue->popUsed());
  ASSERT_TRUE(queue->popUsed());
  uint16_t usedEvent = 1;
  std::memcpy(&usedEvent, ram_.at(queue->availGpa() + vring::usedEventOffset(8), 2).data(), 2);
  EXPECT_EQ(usedEvent, 0);
}

}  // namespace
}  // namespace vdec::harness
