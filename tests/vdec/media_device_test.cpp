// SPDX-License-Identifier: MIT
// MediaDevice: config space, sessions, command-level errors, the event queue.
#include "vdec/media/media_device.h"

#include <cerrno>

#include <gtest/gtest.h>

#include "tests/vdec/media_device_fixture.h"
#include "vdec/base/wire.h"

namespace vdec::media::testing {
namespace {
namespace w = wire;

using MediaDeviceTest = MediaDeviceFixture;

uint32_t statusOf(const Completion& completion) {
  auto header = readWire<w::virtio_media_resp_header>(completion.response);
  return header ? header->status : UINT32_MAX;
}

TEST_F(MediaDeviceTest, ConfigSpaceIsAnMplaneM2mVideoNodeCalledVdec) {
  const auto config = device_->config();
  EXPECT_EQ(config.device_caps, uint32_t{V4L2_CAP_VIDEO_M2M_MPLANE | V4L2_CAP_STREAMING});
  EXPECT_EQ(config.device_caps, 0x04004000u);
  EXPECT_EQ(config.device_type, 0u);
  EXPECT_STREQ(reinterpret_cast<const char*>(config.card), "vdec");
}

TEST_F(MediaDeviceTest, SessionIdsComeFromACounterAndAreNeverReused) {
  const uint32_t first = open();
  const uint32_t second = open();
  EXPECT_EQ(first, 0u);
  EXPECT_EQ(second, 1u);
  close(first);
  EXPECT_EQ(device_->sessionCount(), 1u);
  EXPECT_EQ(open(), 2u);
}

TEST_F(MediaDeviceTest, CloseOfAnUnknownSessionIsIgnoredWithoutResponse) {
  open();
  close(77);
  EXPECT_EQ(device_->sessionCount(), 1u);
}

TEST_F(MediaDeviceTest, TooManySessionsIsEnomem) {
  DeviceConfig config;
  config.maxStreams = 2;
  restart(config);
  open();
  open();
  auto done = send(RequestBuilder().add(w::virtio_media_cmd_open{{w::VIRTIO_MEDIA_CMD_OPEN, 0}}).bytes());
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(statusOf(done[0]), uint32_t{ENOMEM});
}

TEST_F(MediaDeviceTest, CommandErrorsFollowTheReferenceDevice) {
  // Unknown command: ENOTTY.
  auto done = send(RequestBuilder().add(w::virtio_media_cmd_header{99, 0}).bytes());
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(statusOf(done[0]), uint32_t{ENOTTY});
  // Shorter than a header: EINVAL.
  done = send(RequestBuilder().zeros(3).bytes());
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(statusOf(done[0]), uint32_t{EINVAL});
  // An ioctl for an unknown session: EINVAL.
  EXPECT_EQ(ioctlOf(42, 18, uint32_t{V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE}).status, uint32_t{EINVAL});
  // MMAP and MUNMAP: ENOTTY (no shared memory region).
  const uint32_t session = open();
  done = send(RequestBuilder()
                  .add(w::virtio_media_cmd_mmap{{w::VIRTIO_MEDIA_CMD_MMAP, 0}, session, 1, 0})
                  .bytes());
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(statusOf(done[0]), uint32_t{ENOTTY});
  done = send(RequestBuilder().add(w::virtio_media_cmd_munmap{{w::VIRTIO_MEDIA_CMD_MUNMAP, 0}, 0}).bytes());
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(statusOf(done[0]), uint32_t{ENOTTY});
}

TEST_F(MediaDeviceTest, UnsupportedIoctlsAreEnotty) {
  const uint32_t session = open();
  EXPECT_EQ(ioctl(session, 0, {}).status, uint32_t{ENOTTY});    // QUERYCAP: config space
  EXPECT_EQ(ioctl(session, 17, {}).status, uint32_t{ENOTTY});   // DQBUF: eventq
  v4l2_frmivalenum intervals{};
  EXPECT_EQ(ioctlOf(session, 75, intervals).status, uint32_t{ENOTTY});
}

TEST_F(MediaDeviceTest, WritablePartTooSmallForThePayloadIsEinval) {
  const uint32_t session = open();
  v4l2_format format{};
  format.type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
  RequestBuilder payload;
  payload.add(format);
  // Room for the header only: G_FMT's 208-byte payload cannot be written.
  EXPECT_EQ(ioctl(session, 4, payload.bytes(), sizeof(w::virtio_media_resp_ioctl)).status,
            uint32_t{EINVAL});
  // No room at all: nothing is written, nothing crashes.
  auto request = ioctlRequest(4, session).bytes();
  auto more = payload.bytes();
  request.insert(request.end(), more.begin(), more.end());
  auto done = send(request, 0);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].response.empty());
  // Enough room: answered.
  EXPECT_EQ(ioctl(session, 4, payload.bytes(), 8 + 208).status, 0u);
}

TEST_F(MediaDeviceTest, EventsWaitUntilTakenAndNoneIsDropped) {
  DeviceConfig config;
  config.maxPendingEvents = 2;  // a virtio-video limit: virtio-media keeps every event
  restart(config);
  const uint32_t session = openStreamingDecoder(64, 64, 8);
  for (uint32_t i = 0; i < 8; ++i) {
    emit(codecs::PictureReady{i, 1000u * i});
  }
  pump();
  auto events = takeEvents();
  ASSERT_EQ(events.size(), 8u);
  for (uint32_t i = 0; i < 8; ++i) {
    EXPECT_EQ(events[i].session, session);
    EXPECT_EQ(events[i].type, w::VIRTIO_MEDIA_EVT_DQBUF);
    EXPECT_EQ(events[i].dqbuf.buffer.index, i);
  }
}

TEST_F(MediaDeviceTest, ResetDropsSessionsAndEvents) {
  openStreamingDecoder(64, 64);
  emit(codecs::PictureReady{0, 1});
  pump();
  EXPECT_TRUE(device_->hasPendingEvents());
  device_->reset();
  EXPECT_FALSE(device_->hasPendingEvents());
  EXPECT_EQ(device_->sessionCount(), 0u);
  EXPECT_EQ(ioctlOf(0, 18, uint32_t{V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE}).status, uint32_t{EINVAL});
}

}  // namespace
}  // namespace vdec::media::testing
