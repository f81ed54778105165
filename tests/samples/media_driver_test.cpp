// SPDX-License-Identifier: MIT
// MediaDriver against an in-process fake virtio-media back-end: the config space, 16 event
// buffers posted before the first command and re-posted after use (more events than buffers all
// arrive), CLOSE without a writable part, and hostile events (shorter than a header, for an
// unknown session, a DQBUF cut short) that are dropped or handed over without harm.
#include "samples/harness/media_driver.h"

#include <linux/videodev2.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "samples/harness/media_request.h"
#include "samples/harness/media_session.h"
#include "tests/samples/fake_media_device.h"

namespace vdec::harness {
namespace {

using testing::FakeMediaDevice;

class MediaDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vdec-media-driver-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    options_.socketPath = (dir_ / "device.sock").string();
    options_.ramBytes = 16 << 20;
    options_.commandQueueSize = 16;
    options_.eventQueueSize = 16;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  MediaDriverOptions options_;
};

TEST_F(MediaDriverTest, EventsAreRepostedAndHostileOnesDropped) {
  constexpr uint32_t kEventsPerIoctl = 10;
  constexpr uint32_t kIoctls = 5;  // 50 EOS events through 16 buffers
  FakeMediaDevice device(options_.socketPath, kEventsPerIoctl);
  auto driver = MediaDriver::connect(options_);
  ASSERT_TRUE(driver) << driver.error().message;
  EXPECT_EQ((*driver)->config().device_caps, 0x04004000u);
  EXPECT_STREQ(reinterpret_cast<const char*>((*driver)->config().card), "fake");

  auto session = (*driver)->open();
  ASSERT_TRUE(session) << session.error().message;
  EXPECT_EQ(*session, 5u);
  MediaSession media(**driver, *session);
  for (uint32_t i = 0; i < kIoctls; ++i) ASSERT_TRUE(media.streamOn(V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE));

  uint32_t eos = 0;
  uint32_t shortDqbufs = 0;
  while (eos < kEventsPerIoctl * kIoctls) {
    auto events = media.waitEvents(std::chrono::milliseconds(5000));
    ASSERT_TRUE(events) << events.error().message;
    ASSERT_FALSE(events->empty()) << eos << " EOS events so far";
    for (const MediaEvent& event : *events) {
      EXPECT_EQ(event.sessionId, 5u);  // session 77's and the 4-byte event never reach us
      if (event.type == wire::VIRTIO_MEDIA_EVT_DQBUF) {
        EXPECT_EQ(event.bytes.size(), 16u);  // cut short: the client drops it
        ++shortDqbufs;
      } else {
        ASSERT_EQ(event.type, wire::VIRTIO_MEDIA_EVT_EVENT);
        ++eos;
      }
    }
  }
  EXPECT_EQ(shortDqbufs, 1u);
  EXPECT_TRUE((*driver)->close(*session));
  driver->reset();
  auto log = device.stop();
  EXPECT_EQ(log.eventBuffersAtStart, 16u);
  EXPECT_GE(log.eventBuffersSeen, 16u + kEventsPerIoctl * kIoctls);
  ASSERT_EQ(log.commands.size(), 2u + kIoctls);
  EXPECT_EQ(log.commands.front(), wire::VIRTIO_MEDIA_CMD_OPEN);
  EXPECT_EQ(log.commands.back(), wire::VIRTIO_MEDIA_CMD_CLOSE);
  EXPECT_EQ(log.writableSizes.back(), 0u);  // CLOSE: no device-writable descriptor
  EXPECT_EQ(log.writableSizes[1], sizeof(wire::virtio_media_resp_ioctl));  // _IOW: [resp] only
}

TEST(MediaDriverErrnoTest, NamesAndCodes) {
  EXPECT_EQ(errnoName(EINVAL), "EINVAL");
  EXPECT_EQ(errnoName(9999), "errno 9999");
  EXPECT_EQ(errorCodeForErrno(ENOTTY), ErrorCode::kUnsupported);
  EXPECT_EQ(errorCodeForErrno(EINVAL), ErrorCode::kInvalidParameter);
  EXPECT_EQ(errorCodeForErrno(EIO), ErrorCode::kBackendFailure);
}

}  // namespace
}  // namespace vdec::harness
