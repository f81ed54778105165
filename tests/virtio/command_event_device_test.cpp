// SPDX-License-Identifier: MIT
#include "virtio/command_event_device.h"

#include <deque>

#include <gtest/gtest.h>

#include "tests/virtio/virtio_test_util.h"

namespace vdec::virtio {
namespace {

using testing::kGuestBase;
using testing::TestRam;
using testing::TestRing;
using vring::VRING_DESC_F_NEXT;
using vring::VRING_DESC_F_WRITE;

constexpr uint64_t kData = kGuestBase + 0x10000;

// Echoes each request reversed; answers at once unless `async`, then on processNotify().
class EchoDevice : public CommandEventDevice {
 public:
  explicit EchoDevice(std::shared_ptr<MemoryBudget> budget = nullptr)
      : CommandEventDevice(64, std::move(budget)) {}
  uint64_t features() const override { return 0; }
  std::vector<std::byte> configSpace() const override { return {}; }
  uint16_t maxQueueSize() const override { return 8; }
  void setGuestMemory(std::shared_ptr<const buffers::GuestMemory>) override {}
  void setObjectResolver(buffers::ObjectResolver*) override {}

  bool async = false;
  bool takesCommandsWithoutResponse = false;
  std::vector<size_t> capacities;
  std::deque<std::vector<std::byte>> events;
  std::vector<Response> later;
  std::vector<uint64_t> tags;
  int resets = 0;

 protected:
  void submitCommand(uint64_t tag, std::span<const std::byte> request,
                     size_t capacity) override {
    tags.push_back(tag);
    capacities.push_back(capacity);
    Response response{tag, std::vector<std::byte>(request.rbegin(), request.rend())};
    (async ? later : ready_).push_back(std::move(response));
  }
  std::vector<Response> takeResponses() override { return std::exchange(ready_, {}); }
  bool hasPendingEvent() const override { return !events.empty(); }
  std::vector<std::byte> popEvent() override {
    auto event = std::move(events.front());
    events.pop_front();
    return event;
  }
  void processNotify() override {
    for (auto& r : later) ready_.push_back(std::move(r));
    later.clear();
  }
  void resetDevice() override { ++resets; }
  bool acceptsCommandsWithoutResponse() const override { return takesCommandsWithoutResponse; }
  std::vector<std::byte> rejectedResponse(std::span<const std::byte>) override {
    return {std::byte{0xee}};
  }

 private:
  std::vector<Response> ready_;
};

class CommandEventDeviceTest : public ::testing::Test {
 protected:
  CommandEventDeviceTest()
      : commandRing_(ram_, 8, 0),
        eventRing_(ram_, 8, 0x4000),
        commands_(commandRing_.queue()),
        events_(eventRing_.queue()) {}

  // Publishes a command chain of request bytes {1, 2, 3} with a 16-byte response buffer.
  void queueCommand(uint16_t head, uint64_t offset) {
    ram_.write<uint8_t>(kData + offset, 1);
    ram_.write<uint8_t>(kData + offset + 1, 2);
    ram_.write<uint8_t>(kData + offset + 2, 3);
    commandRing_.setDesc(head, kData + offset, 3, VRING_DESC_F_NEXT, head + 1);
    commandRing_.setDesc(head + 1, kData + offset + 0x80, 16, VRING_DESC_F_WRITE);
    commandRing_.publish(head);
  }
  std::vector<Virtqueue*> table(bool commandsRunning = true, bool eventsRunning = true) {
    return {commandsRunning ? &commands_ : nullptr, eventsRunning ? &events_ : nullptr};
  }

  TestRam ram_;
  TestRing commandRing_;
  TestRing eventRing_;
  Virtqueue commands_;
  Virtqueue events_;
  EchoDevice device_;
};

TEST_F(CommandEventDeviceTest, SynchronousCommandsAreAnswered) {
  queueCommand(0, 0);
  queueCommand(2, 0x100);
  device_.onQueueKick(CommandEventDevice::kCommandQueue, table());
  ASSERT_EQ(commandRing_.usedIdx(), 2);
  EXPECT_EQ(commandRing_.usedElem(0).id, 0u);
  EXPECT_EQ(commandRing_.usedElem(0).len, 3u);
  EXPECT_EQ(commandRing_.usedElem(1).id, 2u);
  EXPECT_EQ(ram_.read<uint8_t>(kData + 0x80), 3);  // reversed request
  EXPECT_EQ(ram_.read<uint8_t>(kData + 0x82), 1);
  EXPECT_NE(device_.tags[0], device_.tags[1]);
  EXPECT_EQ(device_.pendingCommands(), 0u);
}

TEST_F(CommandEventDeviceTest, AsynchronousAnswersWaitForRunningQueue) {
  device_.async = true;
  queueCommand(0, 0);
  device_.onQueueKick(CommandEventDevice::kCommandQueue, table());
  EXPECT_EQ(commandRing_.usedIdx(), 0);
  EXPECT_EQ(device_.pendingCommands(), 1u);
  device_.onNotify(table(false, false));  // suspended: nothing may be written
  EXPECT_EQ(commandRing_.usedIdx(), 0);
  device_.onNotify(table());
  EXPECT_EQ(commandRing_.usedIdx(), 1);
  EXPECT_EQ(commandRing_.usedElem(0).len, 3u);
  EXPECT_EQ(device_.pendingCommands(), 0u);
}

TEST_F(CommandEventDeviceTest, BadChainsCompletedWithZeroLength) {
  commandRing_.setDesc(0, kData, 3, 0);  // no writable part
  commandRing_.publish(0);
  commandRing_.setDesc(1, kData, 100, VRING_DESC_F_NEXT, 2);  // over the 64-byte request cap
  commandRing_.setDesc(2, kData + 0x80, 16, VRING_DESC_F_WRITE);
  commandRing_.publish(1);
  commandRing_.setDesc(3, kData, 3, VRING_DESC_F_NEXT, 3);  // loop
  commandRing_.publish(3);
  queueCommand(4, 0x100);  // still served after the bad ones
  device_.onQueueKick(CommandEventDevice::kCommandQueue, table());
  ASSERT_EQ(commandRing_.usedIdx(), 4);
  for (uint16_t i = 0; i < 3; ++i) EXPECT_EQ(commandRing_.usedElem(i).len, 0u);
  EXPECT_EQ(commandRing_.usedElem(3).id, 4u);
  EXPECT_EQ(commandRing_.usedElem(3).len, 3u);
  EXPECT_EQ(device_.tags.size(), 1u);
}

// virtio-media's CLOSE has no writable part: a device that takes such commands gets it with
// capacity 0 and the chain is used with length 0 once answered (whatever the answer's size).
TEST_F(CommandEventDeviceTest, CommandsWithoutResponseReachDevicesThatTakeThem) {
  device_.takesCommandsWithoutResponse = true;
  commandRing_.setDesc(0, kData, 3, 0);  // no writable part
  commandRing_.publish(0);
  queueCommand(1, 0x100);
  device_.onQueueKick(CommandEventDevice::kCommandQueue, table());
  ASSERT_EQ(device_.tags.size(), 2u);
  EXPECT_EQ(device_.capacities[0], 0u);
  EXPECT_EQ(device_.capacities[1], 16u);
  ASSERT_EQ(commandRing_.usedIdx(), 2);
  EXPECT_EQ(commandRing_.usedElem(0).id, 0u);
  EXPECT_EQ(commandRing_.usedElem(0).len, 0u);
  EXPECT_EQ(commandRing_.usedElem(1).len, 3u);
  EXPECT_EQ(device_.pendingCommands(), 0u);
}

// ... and such a command (CLOSE, which frees memory) is never refused for the memory budget: it
// could not be told so.
TEST_F(CommandEventDeviceTest, CommandsWithoutResponseAreNeverRefusedForTheBudget) {
  EchoDevice device(MemoryBudget::create(1));
  device.takesCommandsWithoutResponse = true;
  commandRing_.setDesc(0, kData, 3, 0);  // no writable part
  commandRing_.publish(0);
  queueCommand(1, 0x100);  // over the budget: refused
  device.onQueueKick(CommandEventDevice::kCommandQueue, table());
  ASSERT_EQ(device.tags.size(), 1u);
  EXPECT_EQ(device.capacities[0], 0u);
  ASSERT_EQ(commandRing_.usedIdx(), 2);
  // The refused one is used at once, the CLOSE once the device answered.
  EXPECT_EQ(commandRing_.usedElem(0).id, 1u);
  EXPECT_EQ(commandRing_.usedElem(0).len, 1u);  // rejectedResponse()
  EXPECT_EQ(commandRing_.usedElem(1).id, 0u);
  EXPECT_EQ(commandRing_.usedElem(1).len, 0u);
}

// Issue 10 finding 6a: pending commands are charged to the memory budget before they are kept.
// The queue size does not bound them: a guest may publish a head again while it is pending.
// Over the budget the command is answered at once (rejectedResponse) and never submitted.
TEST_F(CommandEventDeviceTest, PendingCommandsAreChargedToTheMemoryBudget) {
  const uint64_t cost = CommandEventDevice::kPendingCommandCost + 16;  // one writable span
  auto budget = MemoryBudget::create(2 * cost + cost / 2);
  EchoDevice device(budget);
  device.async = true;
  queueCommand(0, 0);
  commandRing_.publish(0);
  commandRing_.publish(0);
  device.onQueueKick(CommandEventDevice::kCommandQueue, table());
  EXPECT_EQ(device.tags.size(), 2u);
  EXPECT_EQ(device.pendingCommands(), 2u);
  EXPECT_EQ(budget->used(), 2 * cost);
  ASSERT_EQ(commandRing_.usedIdx(), 1);  // the third, answered at once
  EXPECT_EQ(commandRing_.usedElem(0).len, 1u);
  EXPECT_EQ(ram_.read<uint8_t>(kData + 0x80), 0xee);
  device.onNotify(table());
  EXPECT_EQ(commandRing_.usedIdx(), 3);
  EXPECT_EQ(device.pendingCommands(), 0u);
  EXPECT_EQ(budget->used(), 0u);
}

TEST_F(CommandEventDeviceTest, EventsWaitForEventBuffers) {
  device_.events.push_back(std::vector<std::byte>(8, std::byte{0xab}));
  device_.events.push_back(std::vector<std::byte>(8, std::byte{0xcd}));
  device_.onNotify(table());  // no event buffer yet
  EXPECT_EQ(eventRing_.usedIdx(), 0);
  EXPECT_EQ(device_.events.size(), 2u);

  eventRing_.setDesc(0, kData + 0x1000, 8, VRING_DESC_F_WRITE);
  eventRing_.publish(0);
  device_.onQueueKick(CommandEventDevice::kEventQueue, table());
  ASSERT_EQ(eventRing_.usedIdx(), 1);
  EXPECT_EQ(eventRing_.usedElem(0).len, 8u);
  EXPECT_EQ(ram_.read<uint8_t>(kData + 0x1000), 0xab);
  EXPECT_EQ(device_.events.size(), 1u);

  eventRing_.setDesc(1, kData + 0x1000, 8, 0);  // read-only: unusable, returned empty
  eventRing_.publish(1);
  eventRing_.setDesc(2, kData + 0x1100, 8, VRING_DESC_F_WRITE);
  eventRing_.publish(2);
  eventRing_.publish(0);  // a spare buffer stays in the ring
  device_.onQueueKick(CommandEventDevice::kEventQueue, table());
  ASSERT_EQ(eventRing_.usedIdx(), 3);
  EXPECT_EQ(eventRing_.usedElem(1).len, 0u);
  EXPECT_EQ(eventRing_.usedElem(2).id, 2u);
  EXPECT_EQ(ram_.read<uint8_t>(kData + 0x1100), 0xcd);
  EXPECT_TRUE(events_.hasAvailable());
}

TEST_F(CommandEventDeviceTest, ResetForgetsPendingCommands) {
  device_.async = true;
  queueCommand(0, 0);
  device_.onQueueKick(CommandEventDevice::kCommandQueue, table());
  device_.reset();
  EXPECT_EQ(device_.resets, 1);
  EXPECT_EQ(device_.pendingCommands(), 0u);
}

}  // namespace
}  // namespace vdec::virtio
