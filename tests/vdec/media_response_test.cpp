// SPDX-License-Identifier: MIT
#include "vdec/media/media_response.h"

#include <cerrno>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "vdec/base/wire.h"

namespace vdec::media {
namespace {
namespace w = wire;

template <typename T>
T as(const std::vector<std::byte>& bytes) {
  auto value = readWire<T>(bytes);
  EXPECT_TRUE(value);
  return value ? *value : T{};
}

TEST(MediaResponse, ConfigSpace) {
  auto config = mediaConfig(0x04004000, 0, "vdec");
  EXPECT_EQ(config.device_caps, 0x04004000u);
  EXPECT_EQ(config.device_type, 0u);
  EXPECT_STREQ(reinterpret_cast<const char*>(config.card), "vdec");
  const std::string longName(40, 'x');
  config = mediaConfig(0, 0, longName);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(config.card), 32), longName.substr(0, 32));
}

TEST(MediaResponse, HeadersAndFixedResponses) {
  auto status = mediaStatusResponse(ENOTTY);
  ASSERT_EQ(status.size(), sizeof(w::virtio_media_resp_header));
  EXPECT_EQ(as<w::virtio_media_resp_header>(status).status, uint32_t{ENOTTY});

  auto open = mediaOpenResponse(42);
  ASSERT_EQ(open.size(), sizeof(w::virtio_media_resp_open));
  EXPECT_EQ(as<w::virtio_media_resp_open>(open).hdr.status, 0u);
  EXPECT_EQ(as<w::virtio_media_resp_open>(open).session_id, 42u);

  auto mmap = mediaMmapResponse(0x10000, 4096);
  ASSERT_EQ(mmap.size(), sizeof(w::virtio_media_resp_mmap));
  EXPECT_EQ(as<w::virtio_media_resp_mmap>(mmap).driver_addr, 0x10000u);
  EXPECT_EQ(as<w::virtio_media_resp_mmap>(mmap).len, 4096u);
}

TEST(MediaResponse, IoctlResponseIsTheHeaderThenThePayload) {
  std::vector<std::byte> payload(208, std::byte{0x5A});
  auto response = mediaIoctlResponse(0, payload);
  ASSERT_EQ(response.size(), 8u + 208u);
  EXPECT_EQ(as<w::virtio_media_resp_header>(response).status, 0u);
  EXPECT_EQ(response[8], std::byte{0x5A});
  EXPECT_EQ(mediaIoctlResponse(EINVAL, {}).size(), 8u);
}

TEST(MediaResponse, Events) {
  auto error = mediaErrorEvent(3, EIO);
  ASSERT_EQ(error.size(), sizeof(w::virtio_media_event_error));
  EXPECT_EQ(as<w::virtio_media_event_error>(error).hdr.event, w::VIRTIO_MEDIA_EVT_ERROR);
  EXPECT_EQ(as<w::virtio_media_event_error>(error).hdr.session_id, 3u);
  EXPECT_EQ(as<w::virtio_media_event_error>(error).errno_value, uint32_t{EIO});

  w::v4l2_event v4l2Event{};
  v4l2Event.type = 5;  // V4L2_EVENT_SOURCE_CHANGE
  auto event = mediaEventEvent(3, v4l2Event);
  ASSERT_EQ(event.size(), sizeof(w::virtio_media_event_event));
  EXPECT_EQ(as<w::virtio_media_event_event>(event).hdr.event, w::VIRTIO_MEDIA_EVT_EVENT);
  EXPECT_EQ(as<w::virtio_media_event_event>(event).event.type, 5u);
}

TEST(MediaResponse, DqbufEventFillsPlanesAndHidesSharedPagePointers) {
  w::v4l2_buffer buffer{};
  buffer.index = 2;
  buffer.type = v4l2::kBufTypeVideoCaptureMplane;
  buffer.memory = v4l2::kMemoryUserptr;
  buffer.m = 0x7fff0000;
  buffer.length = 2;
  std::vector<w::v4l2_plane> planes(2);
  planes[0].bytesused = 100;
  planes[0].m = 0x7fff1000;
  planes[1].bytesused = 50;
  auto bytes = mediaDqbufEvent(9, buffer, planes);
  ASSERT_EQ(bytes.size(), sizeof(w::virtio_media_event_dqbuf));
  auto event = as<w::virtio_media_event_dqbuf>(bytes);
  EXPECT_EQ(event.hdr.event, w::VIRTIO_MEDIA_EVT_DQBUF);
  EXPECT_EQ(event.hdr.session_id, 9u);
  EXPECT_EQ(event.buffer.index, 2u);
  EXPECT_EQ(event.buffer.m, 0u);
  EXPECT_EQ(event.planes[0].m, 0u);
  EXPECT_EQ(event.planes[1].bytesused, 50u);
  EXPECT_EQ(event.planes[2].bytesused, 0u);

  // MMAP buffers keep m (the offset); more than 8 planes are dropped, not overrun.
  buffer.memory = v4l2::kMemoryMmap;
  std::vector<w::v4l2_plane> many(12);
  event = as<w::virtio_media_event_dqbuf>(mediaDqbufEvent(9, buffer, many));
  EXPECT_EQ(event.buffer.m, 0x7fff0000u);
}

}  // namespace
}  // namespace vdec::media
