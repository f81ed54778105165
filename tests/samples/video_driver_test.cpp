// SPDX-License-Identifier: MIT
// VideoDriver against an in-process fake device: commands, async completions, events, errors.
#include "samples/harness/video_driver.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>

#include "samples/harness/object_exporter.h"
#include "tests/samples/fake_video_device.h"
#include "virtio/vhost_user_protocol.h"

namespace vdec::harness {
namespace {

using testing::FakeVideoDevice;

class VideoDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("vdec-driver-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    options_.socketPath = (dir_ / "device.sock").string();
    options_.ramBytes = 16 << 20;
    options_.commandQueueSize = 16;
    options_.eventQueueSize = 8;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  DriverOptions options_;
};

TEST_F(VideoDriverTest, CommandsFollowTheGuestDriver) {
  FakeVideoDevice device(options_.socketPath);
  auto driver = VideoDriver::connect(options_);
  ASSERT_TRUE(driver) << driver.error().message;
  auto& d = **driver;
  EXPECT_EQ(d.config().max_caps_length, 4096u);
  EXPECT_TRUE(d.negotiatedFeatures() & (1ull << vhost::VIRTIO_RING_F_INDIRECT_DESC));

  auto caps = d.queryCapability(wire::VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
  ASSERT_TRUE(caps) << caps.error().message;
  EXPECT_EQ(caps->size(), 16u + 24u + 40u);  // trimmed to the used length
  ASSERT_TRUE(d.streamCreate(1, wire::VIRTIO_VIDEO_FORMAT_H264));
  auto params = d.getParams(1, wire::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
  ASSERT_TRUE(params) << params.error().message;
  EXPECT_EQ(params->base.queue_type, wire::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
  EXPECT_EQ(params->base.frame_width, 320u);
  ASSERT_TRUE(d.setParams(1, *params));
  auto profile = d.getControl(1, wire::VIRTIO_VIDEO_CONTROL_PROFILE);
  ASSERT_TRUE(profile);
  EXPECT_EQ(*profile, 0x101u);

  auto object = d.exporter().allocate(320 * 240 * 3 / 2);
  ASSERT_TRUE(object);
  ASSERT_TRUE(d.resourceCreateObject(1, wire::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 7, object->uuid,
                                     {0, 320 * 240}));
  auto pages = d.ram().allocScattered(64 * 1024);
  ASSERT_TRUE(pages);
  ASSERT_TRUE(d.resourceCreateGuestPages(1, wire::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 8, *pages));

  ASSERT_TRUE(d.resourceQueue(1, wire::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 8, 1234, 999));
  ASSERT_TRUE(d.resourceQueue(1, wire::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 7, 0, 0));
  ASSERT_TRUE(d.streamDrain(1));
  Activity all;
  for (int i = 0; i < 10 && (all.queues.size() < 2 || all.drainsDone.empty() || all.events.empty());
       ++i) {
    auto activity = d.waitActivity(std::chrono::milliseconds(1000));
    ASSERT_TRUE(activity) << activity.error().message;
    all.queues.insert(all.queues.end(), activity->queues.begin(), activity->queues.end());
    all.events.insert(all.events.end(), activity->events.begin(), activity->events.end());
    all.drainsDone.insert(all.drainsDone.end(), activity->drainsDone.begin(),
                          activity->drainsDone.end());
  }
  ASSERT_EQ(all.queues.size(), 2u);
  EXPECT_EQ(all.queues[0].resourceId, 8u);
  EXPECT_EQ(all.queues[0].timestamp, 1234u);
  EXPECT_EQ(all.queues[0].size, 999u);
  EXPECT_EQ(all.queues[0].responseType, wire::VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE);
  EXPECT_EQ(all.queues[1].queueType, wire::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
  EXPECT_EQ(all.queues[1].flags, wire::VIRTIO_VIDEO_BUFFER_FLAG_EOS);
  ASSERT_EQ(all.events.size(), 1u);
  EXPECT_EQ(all.events[0].event_type, wire::VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED);
  EXPECT_EQ(all.events[0].stream_id, 1u);
  EXPECT_EQ(all.drainsDone, std::vector<uint32_t>{1});

  auto bad = d.streamDestroy(99);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidStreamId);
  ASSERT_TRUE(d.queueClear(1, wire::VIRTIO_VIDEO_QUEUE_TYPE_INPUT));
  ASSERT_TRUE(d.streamDestroy(1));

  d.disconnect();
  EXPECT_FALSE(d.streamDestroy(1));
  auto log = device.stop();
  EXPECT_EQ(log.eventBuffersAtStart, 8u);  // all posted before the rings started
  EXPECT_EQ(log.streamInMem, wire::VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT);
  EXPECT_EQ(log.streamOutMem, wire::VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT);
  EXPECT_EQ(log.streamTag, "vdec-harness");
  ASSERT_EQ(log.commands.size(), log.responseSizes.size());
  for (size_t i = 0; i < log.commands.size(); ++i) {
    size_t expected = 8;
    switch (log.commands[i]) {
      case wire::VIRTIO_VIDEO_CMD_QUERY_CAPABILITY:
        expected = 4096;
        break;
      case wire::VIRTIO_VIDEO_CMD_GET_PARAMS_EXT:
        expected = 128;
        break;
      case wire::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE:
        expected = 24;
        break;
      case wire::VIRTIO_VIDEO_CMD_GET_CONTROL:
        expected = 16;
        break;
      default:
        break;
    }
    EXPECT_EQ(log.responseSizes[i], expected) << "command " << std::hex << log.commands[i];
    const bool create = log.commands[i] == wire::VIRTIO_VIDEO_CMD_RESOURCE_CREATE;
    EXPECT_EQ(log.descriptors[i], create ? 3u : 2u);
    EXPECT_EQ(log.indirect[i], create);  // three-descriptor chains go indirect
  }
  // The last RESOURCE_CREATE was the guest-pages one; check the object one separately below.
  EXPECT_EQ(log.objectEntry.size(), 16u * pages->size());
}

TEST_F(VideoDriverTest, ObjectResourceSendsExactlyOneUuid) {
  FakeVideoDevice device(options_.socketPath);
  auto driver = VideoDriver::connect(options_);
  ASSERT_TRUE(driver) << driver.error().message;
  auto object = (*driver)->exporter().allocate(4096);
  ASSERT_TRUE(object);
  ASSERT_TRUE((*driver)->resourceCreateObject(1, wire::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 3,
                                              object->uuid, {0, 2048}));
  (*driver)->disconnect();
  auto log = device.stop();
  EXPECT_EQ(log.createNumPlanes, 2u);
  ASSERT_EQ(log.objectEntry.size(), 16u);
  EXPECT_TRUE(std::equal(log.objectEntry.begin(), log.objectEntry.end(), object->uuid.begin()));
}

TEST_F(VideoDriverTest, SynchronousCommandTimesOut) {
  FakeVideoDevice device(options_.socketPath, /*silentClear=*/true);
  options_.commandTimeout = std::chrono::milliseconds(200);
  auto driver = VideoDriver::connect(options_);
  ASSERT_TRUE(driver) << driver.error().message;
  auto cleared = (*driver)->queueClear(1, wire::VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
  ASSERT_FALSE(cleared);
  EXPECT_EQ(cleared.error().code, ErrorCode::kBackendFailure);
  EXPECT_NE(cleared.error().message.find("QUEUE_CLEAR"), std::string::npos);
  // The driver stays usable.
  EXPECT_TRUE((*driver)->streamCreate(2, wire::VIRTIO_VIDEO_FORMAT_VP9));
}

TEST_F(VideoDriverTest, DeviceGoingAwayFailsWaitsFast) {
  auto device = std::make_unique<FakeVideoDevice>(options_.socketPath);
  auto driver = VideoDriver::connect(options_);
  ASSERT_TRUE(driver) << driver.error().message;
  device.reset();  // closes its end of the socket
  const auto start = std::chrono::steady_clock::now();
  auto activity = (*driver)->waitActivity(std::chrono::milliseconds(3000));
  EXPECT_FALSE(activity);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2000));
}

}  // namespace
}  // namespace vdec::harness
