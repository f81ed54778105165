// SPDX-License-Identifier: MIT
#include "tests/vdec/media_device_fixture.h"

#include "vdec/base/wire.h"
#include "vdec/media/media_session_payload.h"

namespace vdec::media::testing {
namespace w = wire;

void MediaDeviceFixture::restart(const DeviceConfig& config,
                                 std::shared_ptr<codecs::DecoderBackend> backend) {
  device_.reset();
  if (!ram_.memory) ram_ = ::vdec::testing::makeTestGuestMemory(48 << 20, kInputBase);
  fakeBackend_ = std::make_shared<::vdec::testing::FakeDecoderBackend>();
  device_ = std::make_unique<MediaDevice>(config, backend ? backend : fakeBackend_);
  device_->setGuestMemory(ram_.memory);
}

std::vector<Completion> MediaDeviceFixture::send(const std::vector<std::byte>& request,
                                                 size_t capacity) {
  device_->handleCommand(nextTag_++, request, capacity);
  return device_->takeCompletions();
}

uint32_t MediaDeviceFixture::open() {
  auto done = send(RequestBuilder().add(w::virtio_media_cmd_open{{w::VIRTIO_MEDIA_CMD_OPEN, 0}}).bytes());
  EXPECT_EQ(done.size(), 1u);
  if (done.empty()) return UINT32_MAX;
  auto resp = readWire<w::virtio_media_resp_open>(done[0].response);
  EXPECT_TRUE(resp.has_value());
  EXPECT_EQ(resp->hdr.status, 0u);
  return resp->session_id;
}

void MediaDeviceFixture::close(uint32_t session) {
  auto done = send(
      RequestBuilder().add(w::virtio_media_cmd_close{{w::VIRTIO_MEDIA_CMD_CLOSE, 0}, session, 0}).bytes(),
      0);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].response.empty());
}

Reply MediaDeviceFixture::ioctl(uint32_t session, uint32_t code,
                                const std::vector<std::byte>& payload, size_t capacity) {
  auto request = ioctlRequest(code, session).bytes();
  request.insert(request.end(), payload.begin(), payload.end());
  auto done = send(request, capacity);
  EXPECT_EQ(done.size(), 1u) << "ioctl " << code;
  if (done.empty()) return {UINT32_MAX, {}};
  EXPECT_EQ(done[0].tag, nextTag_ - 1);
  Reply reply;
  auto header = readWire<w::virtio_media_resp_header>(done[0].response);
  EXPECT_TRUE(header.has_value());
  reply.status = header ? header->status : UINT32_MAX;
  if (done[0].response.size() > sizeof(w::virtio_media_resp_ioctl)) {
    reply.payload.assign(done[0].response.begin() + sizeof(w::virtio_media_resp_ioctl),
                         done[0].response.end());
  }
  return reply;
}

std::vector<std::byte> MediaDeviceFixture::userptrBuffer(uint32_t type, uint32_t index,
                                                         uint64_t gpa, uint32_t length,
                                                         uint32_t bytesUsed, int64_t sec,
                                                         int64_t usec) {
  w::v4l2_buffer buffer{};
  buffer.index = index;
  buffer.type = type;
  buffer.memory = V4L2_MEMORY_USERPTR;
  buffer.timestamp_sec = sec;
  buffer.timestamp_usec = usec;
  RequestBuilder bytes;
  if (v4l2::isMultiplanar(type)) {
    buffer.length = 1;
    bytes.add(buffer);
    w::v4l2_plane plane{};
    plane.length = length;
    plane.bytesused = bytesUsed;
    plane.m = 0x7f0000001000;  // the guest's pointer: replaced by the SG list
    bytes.add(plane);
  } else {
    buffer.length = length;
    buffer.bytesused = bytesUsed;
    bytes.add(buffer);
  }
  for (uint32_t done = 0; done < length; done += 4096) {
    bytes.add(sgEntry(gpa + done, std::min<uint32_t>(4096, length - done)));
  }
  return bytes.bytes();
}

Reply MediaDeviceFixture::qbufInput(uint32_t session, uint32_t index,
                                    std::span<const uint8_t> bytes, int64_t sec, int64_t usec) {
  const uint64_t gpa = kInputBase + uint64_t{index} * kInputLength;
  std::memcpy(ram_.host(gpa), bytes.data(), bytes.size());
  return ioctl(session, 15,
               userptrBuffer(V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE, index, gpa, kInputLength,
                             static_cast<uint32_t>(bytes.size()), sec, usec));
}

Reply MediaDeviceFixture::qbufCapture(uint32_t session, uint32_t index, uint32_t length) {
  const uint64_t gpa = kCaptureBase + uint64_t{index} * kCaptureLength;
  return ioctl(session, 15,
               userptrBuffer(V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE, index, gpa, length));
}

Reply MediaDeviceFixture::setFormat(uint32_t session, uint32_t type, uint32_t fourcc,
                                    uint32_t width, uint32_t height) {
  v4l2_format format{};
  format.type = type;
  format.fmt.pix_mp.pixelformat = fourcc;
  format.fmt.pix_mp.width = width;
  format.fmt.pix_mp.height = height;
  return ioctlOf(session, 5, format);
}

Reply MediaDeviceFixture::getFormat(uint32_t session, uint32_t type) {
  v4l2_format format{};
  format.type = type;
  return ioctlOf(session, 4, format);
}

Reply MediaDeviceFixture::reqbufs(uint32_t session, uint32_t type, uint32_t count,
                                  uint32_t memory) {
  v4l2_requestbuffers req{};
  req.type = type;
  req.count = count;
  req.memory = memory;
  return ioctlOf(session, 8, req);
}

Reply MediaDeviceFixture::streamOn(uint32_t session, uint32_t type, bool on) {
  return ioctlOf(session, on ? 18 : 19, type);
}

Reply MediaDeviceFixture::subscribe(uint32_t session, uint32_t type) {
  v4l2_event_subscription sub{};
  sub.type = type;
  return ioctlOf(session, 90, sub);
}

Reply MediaDeviceFixture::decoderCommand(uint32_t session, uint32_t cmd, bool tryOnly) {
  v4l2_decoder_cmd command{};
  command.cmd = cmd;
  return ioctlOf(session, tryOnly ? 97 : 96, command);
}

void MediaDeviceFixture::emit(codecs::DecoderEvent event) {
  ASSERT_NE(fake(), nullptr);
  fake()->emit(std::move(event));
}

std::vector<Event> MediaDeviceFixture::takeEvents() {
  std::vector<Event> events;
  while (device_->hasPendingEvents()) {
    auto bytes = device_->popEvent();
    Event event;
    auto header = readWire<w::virtio_media_event_header>(bytes);
    EXPECT_TRUE(header.has_value());
    if (!header) continue;
    event.type = header->event;
    event.session = header->session_id;
    if (event.type == w::VIRTIO_MEDIA_EVT_DQBUF) {
      EXPECT_EQ(bytes.size(), sizeof(w::virtio_media_event_dqbuf));
      event.dqbuf = *readWire<w::virtio_media_event_dqbuf>(bytes);
    } else if (event.type == w::VIRTIO_MEDIA_EVT_EVENT) {
      EXPECT_EQ(bytes.size(), sizeof(w::virtio_media_event_event));
      event.event = readWire<w::virtio_media_event_event>(bytes)->event;
    } else {
      EXPECT_EQ(bytes.size(), sizeof(w::virtio_media_event_error));
      event.errnoValue = readWire<w::virtio_media_event_error>(bytes)->errno_value;
    }
    events.push_back(event);
  }
  return events;
}

uint32_t MediaDeviceFixture::openDecoder() {
  const uint32_t session = open();
  EXPECT_EQ(setFormat(session, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE, V4L2_PIX_FMT_H264, 320, 240).status, 0u);
  EXPECT_EQ(subscribe(session, V4L2_EVENT_SOURCE_CHANGE).status, 0u);
  EXPECT_EQ(subscribe(session, V4L2_EVENT_EOS).status, 0u);
  EXPECT_EQ(reqbufs(session, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE, 2).status, 0u);
  return session;
}

uint32_t MediaDeviceFixture::openStreamingDecoder(uint32_t width, uint32_t height,
                                                  uint32_t buffers) {
  const uint32_t session = openDecoder();
  const uint8_t data[] = {0, 0, 0, 1, 0x67};
  EXPECT_EQ(qbufInput(session, 0, data, 1).status, 0u);
  EXPECT_EQ(streamOn(session, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE).status, 0u);
  codecs::StreamFormat format;
  format.codedWidth = width;
  format.codedHeight = height;
  format.visible = {0, 0, width, height};
  format.minBuffers = 4;
  emit(codecs::InputDone{1});
  emit(codecs::FormatChanged{format});
  pump();
  takeEvents();
  EXPECT_EQ(reqbufs(session, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE, buffers).status, 0u);
  for (uint32_t i = 0; i < buffers; ++i) EXPECT_EQ(qbufCapture(session, i).status, 0u);
  EXPECT_EQ(streamOn(session, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE).status, 0u);
  return session;
}

}  // namespace vdec::media::testing
