// SPDX-License-Identifier: MIT
// MediaSession with the fake decoder: the dev-decoder.rst sequences (initialization, decoding,
// drain, dynamic resolution change, seek) as the guest driver sends them.
#include "vdec/media/media_session.h"

#include <cerrno>

#include <gtest/gtest.h>

#include "tests/vdec/media_device_fixture.h"
#include "vdec/base/wire.h"
#include "vdec/media/v4l2_formats.h"

namespace vdec::media::testing {
namespace {
namespace w = wire;

constexpr uint32_t kOut = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
constexpr uint32_t kCap = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;

using MediaSessionTest = MediaDeviceFixture;

codecs::StreamFormat streamFormat(uint32_t width, uint32_t height, uint32_t minBuffers = 4) {
  codecs::StreamFormat format;
  format.codedWidth = width;
  format.codedHeight = height;
  format.visible = {0, 0, width, height};
  format.minBuffers = minBuffers;
  return format;
}

TEST_F(MediaSessionTest, InitializationDecodesInputAndAnnouncesTheSourceChange) {
  const uint32_t session = openDecoder();
  const uint8_t data[] = {0, 0, 0, 1, 0x67, 0x42};
  auto queued = qbufInput(session, 1, data, 5, 7);
  ASSERT_EQ(queued.status, 0u);
  EXPECT_TRUE(queued.as<w::v4l2_buffer>().flags & V4L2_BUF_FLAG_QUEUED);
  EXPECT_EQ(fake(), nullptr);  // nothing decodes before STREAMON(OUTPUT)
  ASSERT_EQ(streamOn(session, kOut).status, 0u);
  ASSERT_NE(fake(), nullptr);
  ASSERT_EQ(fake()->decoded.size(), 1u);
  EXPECT_EQ(fake()->decoded[0].bytes, std::vector<uint8_t>(data, data + sizeof(data)));
  EXPECT_EQ(fake()->decoded[0].timestamp, timestampFromTimeval(5, 7));

  emit(codecs::InputDone{fake()->decoded[0].inputId});
  emit(codecs::FormatChanged{streamFormat(320, 240, 6)});
  pump();
  auto events = takeEvents();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, w::VIRTIO_MEDIA_EVT_DQBUF);
  EXPECT_EQ(events[0].dqbuf.buffer.index, 1u);
  EXPECT_EQ(events[0].dqbuf.buffer.type, kOut);
  EXPECT_EQ(events[0].dqbuf.buffer.timestamp_sec, 5);
  EXPECT_EQ(events[0].dqbuf.buffer.timestamp_usec, 7);
  EXPECT_EQ(events[0].dqbuf.planes[0].bytesused, sizeof(data));
  EXPECT_EQ(events[0].dqbuf.planes[0].m, 0u);  // SHARED_PAGES: pointers zeroed
  EXPECT_EQ(events[1].type, w::VIRTIO_MEDIA_EVT_EVENT);
  EXPECT_EQ(events[1].event.type, uint32_t{V4L2_EVENT_SOURCE_CHANGE});
  EXPECT_EQ(events[1].event.u[0], V4L2_EVENT_SRC_CH_RESOLUTION);

  auto format = getFormat(session, kCap).as<v4l2_format>();
  EXPECT_EQ(format.fmt.pix_mp.width, 320u);
  EXPECT_EQ(format.fmt.pix_mp.height, 240u);
  EXPECT_EQ(format.fmt.pix_mp.pixelformat, uint32_t{V4L2_PIX_FMT_NV12});
  EXPECT_EQ(format.fmt.pix_mp.num_planes, 1);
  EXPECT_EQ(format.fmt.pix_mp.plane_fmt[0].bytesperline, 320u);
  EXPECT_EQ(format.fmt.pix_mp.plane_fmt[0].sizeimage, 320u * 240 * 3 / 2);
  v4l2_control min{V4L2_CID_MIN_BUFFERS_FOR_CAPTURE, 0};
  EXPECT_EQ(ioctlOf(session, 27, min).as<v4l2_control>().value, 6);
  // REQBUFS raises the count to the minimum.
  EXPECT_EQ(reqbufs(session, kCap, 2).as<v4l2_requestbuffers>().count, 6u);
}

TEST_F(MediaSessionTest, CaptureFormatBeforeTheStreamIsKnownFollowsTheOutputFormat) {
  const uint32_t session = open();
  setFormat(session, kOut, V4L2_PIX_FMT_VP9, 176, 144);
  auto format = getFormat(session, kCap).as<v4l2_format>();
  EXPECT_EQ(format.fmt.pix_mp.width, 176u);
  EXPECT_EQ(format.fmt.pix_mp.height, 144u);
  auto out = getFormat(session, kOut).as<v4l2_format>();
  EXPECT_EQ(out.fmt.pix_mp.pixelformat, uint32_t{V4L2_PIX_FMT_VP9});
  EXPECT_GE(out.fmt.pix_mp.plane_fmt[0].sizeimage, 4096u);
}

TEST_F(MediaSessionTest, PicturesComeBackAsCaptureDqbufsWithTheirTimestamps) {
  const uint32_t session = openStreamingDecoder(320, 240);
  ASSERT_TRUE(fake()->layout.has_value());
  EXPECT_EQ(fake()->layout->width, 320u);
  ASSERT_EQ(fake()->outputs.size(), 4u);
  emit(codecs::PictureReady{2, timestampFromTimeval(9, 500), false, false, 0});
  emit(codecs::PictureReady{0, timestampFromTimeval(10, 0), true, false, 0});
  pump();
  auto events = takeEvents();
  ASSERT_EQ(events.size(), 2u);
  const auto& first = events[0].dqbuf;
  EXPECT_EQ(events[0].session, session);
  EXPECT_EQ(first.buffer.index, 2u);
  EXPECT_EQ(first.buffer.type, kCap);
  EXPECT_EQ(first.buffer.field, uint32_t{V4L2_FIELD_NONE});
  EXPECT_EQ(first.buffer.timestamp_sec, 9);
  EXPECT_EQ(first.buffer.timestamp_usec, 500);
  EXPECT_EQ(first.planes[0].bytesused, 320u * 240 * 3 / 2);
  EXPECT_EQ(first.buffer.flags & V4L2_BUF_FLAG_ERROR, 0u);
  EXPECT_TRUE(events[1].dqbuf.buffer.flags & V4L2_BUF_FLAG_ERROR);
  // Queued again, a buffer goes back to the decoder.
  ASSERT_EQ(qbufCapture(session, 2).status, 0u);
  EXPECT_EQ(fake()->outputs.size(), 5u);
}

TEST_F(MediaSessionTest, DrainEndsWithAnEmptyLastBufferAndEos) {
  const uint32_t session = openStreamingDecoder(64, 64);
  EXPECT_EQ(decoderCommand(session, V4L2_DEC_CMD_STOP, true).status, 0u);
  EXPECT_EQ(fake()->flushes, 0);
  ASSERT_EQ(decoderCommand(session, V4L2_DEC_CMD_STOP).status, 0u);
  EXPECT_EQ(fake()->flushes, 1);
  EXPECT_EQ(decoderCommand(session, V4L2_DEC_CMD_STOP).status, uint32_t{EBUSY});
  emit(codecs::PictureReady{3, 0, false, true, 0});
  emit(codecs::FlushDone{});
  pump();
  auto events = takeEvents();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].dqbuf.buffer.index, 3u);
  EXPECT_TRUE(events[0].dqbuf.buffer.flags & V4L2_BUF_FLAG_LAST);
  EXPECT_EQ(events[0].dqbuf.planes[0].bytesused, 0u);
  EXPECT_EQ(events[1].event.type, uint32_t{V4L2_EVENT_EOS});
  // Stopped: new input waits until START.
  const uint8_t data[] = {1, 2, 3};
  ASSERT_EQ(qbufInput(session, 1, data, 2).status, 0u);
  EXPECT_EQ(fake()->decoded.size(), 1u);
  ASSERT_EQ(decoderCommand(session, V4L2_DEC_CMD_START).status, 0u);
  EXPECT_EQ(fake()->decoded.size(), 2u);
}

TEST_F(MediaSessionTest, StopBeforeAnythingDecodedReturnsLastAtOnce) {
  const uint32_t session = openDecoder();
  ASSERT_EQ(streamOn(session, kOut).status, 0u);
  // Neither queue runs: no effect.
  ASSERT_EQ(reqbufs(session, kCap, 4).status, 0u);
  EXPECT_EQ(decoderCommand(session, V4L2_DEC_CMD_STOP).status, 0u);
  EXPECT_TRUE(takeEvents().empty());
  ASSERT_EQ(streamOn(session, kCap).status, 0u);
  ASSERT_EQ(decoderCommand(session, V4L2_DEC_CMD_STOP).status, 0u);
  EXPECT_TRUE(takeEvents().empty());  // no CAPTURE buffer yet: the next one gets LAST
  ASSERT_EQ(qbufCapture(session, 1).status, 0u);
  auto events = takeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].dqbuf.buffer.index, 1u);
  EXPECT_TRUE(events[0].dqbuf.buffer.flags & V4L2_BUF_FLAG_LAST);
}

// dev-decoder.rst: SOURCE_CHANGE first, then the old pictures end with a LAST buffer.
TEST_F(MediaSessionTest, ResolutionChangeSendsSourceChangeThenLastAndResumesInTheNewLayout) {
  const uint32_t session = openStreamingDecoder(320, 240);
  emit(codecs::PictureReady{0, 1});
  emit(codecs::FormatChanged{streamFormat(640, 360, 5)});
  pump();
  EXPECT_EQ(fake()->clears, 1);  // the lent buffers come back for the LAST one
  pump();
  auto events = takeEvents();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].dqbuf.buffer.index, 0u);
  EXPECT_EQ(events[0].dqbuf.planes[0].bytesused, 320u * 240 * 3 / 2);
  EXPECT_EQ(events[1].type, w::VIRTIO_MEDIA_EVT_EVENT);
  EXPECT_EQ(events[1].event.type, uint32_t{V4L2_EVENT_SOURCE_CHANGE});
  EXPECT_EQ(events[2].type, w::VIRTIO_MEDIA_EVT_DQBUF);
  EXPECT_TRUE(events[2].dqbuf.buffer.flags & V4L2_BUF_FLAG_LAST);
  EXPECT_EQ(events[2].dqbuf.planes[0].bytesused, 0u);
  // The client sets CAPTURE up again.
  ASSERT_EQ(streamOn(session, kCap, false).status, 0u);
  ASSERT_EQ(reqbufs(session, kCap, 0).status, 0u);
  auto format = getFormat(session, kCap).as<v4l2_format>();
  EXPECT_EQ(format.fmt.pix_mp.width, 640u);
  EXPECT_EQ(format.fmt.pix_mp.height, 360u);
  ASSERT_EQ(reqbufs(session, kCap, 5).status, 0u);
  for (uint32_t i = 0; i < 5; ++i) ASSERT_EQ(qbufCapture(session, i).status, 0u);
  ASSERT_EQ(streamOn(session, kCap).status, 0u);
  ASSERT_TRUE(fake()->layout.has_value());
  EXPECT_EQ(fake()->layout->width, 640u);
  EXPECT_EQ(fake()->outputs.size(), 5u);
}

TEST_F(MediaSessionTest, ResolutionChangeWithNoCaptureBufferQueuedStillAnnouncesIt) {
  const uint32_t session = openStreamingDecoder(320, 240);
  for (uint32_t i = 0; i < 4; ++i) emit(codecs::PictureReady{i, i});
  pump();
  EXPECT_EQ(takeEvents().size(), 4u);  // every CAPTURE buffer is with the client
  emit(codecs::FormatChanged{streamFormat(640, 360)});
  pump();
  pump();
  auto events = takeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.type, uint32_t{V4L2_EVENT_SOURCE_CHANGE});
  ASSERT_EQ(qbufCapture(session, 2).status, 0u);  // ... and the next buffer is the LAST one
  events = takeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].dqbuf.buffer.flags & V4L2_BUF_FLAG_LAST);
}

// dev-decoder.rst: CAPTURE keeps its format until the client sets it up again, so a buffer
// the client re-queues before it read the SOURCE_CHANGE (v4l2-ctl and Chromium do) is accepted
// although it is too small for the new resolution: it becomes the LAST buffer, or is held
// (never lent to the decoder) until STREAMOFF drops it without a DQBUF.
TEST_F(MediaSessionTest, OldSizeRequeueDuringAResolutionChangeIsAcceptedNotDecodedInto) {
  const uint32_t session = openStreamingDecoder(320, 240);  // 1 MiB buffers
  for (uint32_t i = 0; i < 4; ++i) emit(codecs::PictureReady{i, i});
  pump();
  EXPECT_EQ(takeEvents().size(), 4u);
  const size_t lent = fake()->outputs.size();
  emit(codecs::FormatChanged{streamFormat(1280, 720)});  // 1382400 bytes > 1 MiB
  pump();
  ASSERT_EQ(takeEvents().size(), 1u);  // SOURCE_CHANGE, not read yet by the client
  ASSERT_EQ(qbufCapture(session, 2).status, 0u);
  auto events = takeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].dqbuf.buffer.index, 2u);
  EXPECT_TRUE(events[0].dqbuf.buffer.flags & V4L2_BUF_FLAG_LAST);
  EXPECT_EQ(events[0].dqbuf.planes[0].bytesused, 0u);
  ASSERT_EQ(qbufCapture(session, 3).status, 0u);  // held: no DQBUF, not lent
  pump();
  EXPECT_TRUE(takeEvents().empty());
  EXPECT_EQ(fake()->outputs.size(), lent);
  ASSERT_EQ(streamOn(session, kCap, false).status, 0u);  // drops buffer 3
  EXPECT_TRUE(takeEvents().empty());
  // The new set-up checks against the new size.
  ASSERT_EQ(reqbufs(session, kCap, 0).status, 0u);
  ASSERT_EQ(reqbufs(session, kCap, 4).status, 0u);
  EXPECT_EQ(qbufCapture(session, 0).status, uint32_t{EINVAL});
}

// ... and with buffers still lent to the decoder (the LAST buffer waits for OutputCleared).
TEST_F(MediaSessionTest, OldSizeRequeueWhileTheDecoderHoldsBuffersBecomesTheLastBuffer) {
  const uint32_t session = openStreamingDecoder(320, 240);
  emit(codecs::PictureReady{0, 0});
  pump();
  EXPECT_EQ(takeEvents().size(), 1u);
  fake()->holdClears = true;
  emit(codecs::FormatChanged{streamFormat(1280, 720)});
  pump();
  ASSERT_EQ(takeEvents().size(), 1u);  // SOURCE_CHANGE
  ASSERT_EQ(fake()->heldClears.size(), 1u);
  ASSERT_EQ(qbufCapture(session, 0).status, 0u);
  EXPECT_TRUE(fake()->outputs.empty());  // not lent
  emit(codecs::OutputCleared{fake()->heldClears[0]});
  pump();
  auto events = takeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].dqbuf.buffer.index, 0u);
  EXPECT_TRUE(events[0].dqbuf.buffer.flags & V4L2_BUF_FLAG_LAST);
  EXPECT_EQ(events[0].dqbuf.planes[0].bytesused, 0u);
  ASSERT_EQ(streamOn(session, kCap, false).status, 0u);  // answered at once, 1..3 dropped
  EXPECT_TRUE(takeEvents().empty());
  EXPECT_TRUE(fake()->outputs.empty());
}

TEST_F(MediaSessionTest, StreamOffBeforeTheLastBufferOfAResolutionChangeSkipsIt) {
  const uint32_t session = openStreamingDecoder(320, 240);
  fake()->holdClears = true;
  emit(codecs::FormatChanged{streamFormat(640, 360)});
  pump();
  auto events = takeEvents();  // LAST waits for the buffers to come back
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.type, uint32_t{V4L2_EVENT_SOURCE_CHANGE});
  auto request = ioctlRequest(19, session).bytes();
  RequestBuilder type;
  type.add(uint32_t{kCap});
  auto more = type.bytes();
  request.insert(request.end(), more.begin(), more.end());
  EXPECT_TRUE(send(request).empty());  // STREAMOFF waits for the decoder
  for (const auto& ids : fake()->heldClears) emit(codecs::OutputCleared{ids});
  pump();
  EXPECT_EQ(device_->takeCompletions().size(), 1u);
  EXPECT_TRUE(takeEvents().empty());  // no LAST buffer after STREAMOFF
}

TEST_F(MediaSessionTest, StreamOffCaptureWaitsUntilTheDecoderGaveTheBuffersBack) {
  const uint32_t session = openStreamingDecoder(64, 64);
  fake()->holdClears = true;
  auto done = send([&] {
    auto request = ioctlRequest(19, session).bytes();
    RequestBuilder type;
    type.add(uint32_t{kCap});
    auto more = type.bytes();
    request.insert(request.end(), more.begin(), more.end());
    return request;
  }());
  EXPECT_TRUE(done.empty());
  const uint64_t tag = nextTag_ - 1;
  EXPECT_EQ(getFormat(session, kCap).status, uint32_t{EBUSY});
  ASSERT_EQ(fake()->heldClears.size(), 1u);
  emit(codecs::OutputCleared{fake()->heldClears[0]});
  pump();
  done = device_->takeCompletions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].tag, tag);
  EXPECT_EQ(readWire<w::virtio_media_resp_header>(done[0].response)->status, 0u);
  EXPECT_TRUE(takeEvents().empty());  // the driver drops pending dequeues itself
  EXPECT_EQ(getFormat(session, kCap).status, 0u);
}

TEST_F(MediaSessionTest, SeekDropsQueuedInputWithoutDqbufAndRestarts) {
  const uint32_t session = openStreamingDecoder(64, 64);
  const uint8_t data[] = {9, 9};
  ASSERT_EQ(qbufInput(session, 1, data, 3).status, 0u);
  ASSERT_EQ(fake()->decoded.size(), 2u);
  ASSERT_EQ(streamOn(session, kOut, false).status, 0u);
  EXPECT_EQ(fake()->resets, 1);
  emit(codecs::InputDone{fake()->decoded[1].inputId});
  emit(codecs::ResetDone{});
  pump();
  EXPECT_TRUE(takeEvents().empty());
  ASSERT_EQ(streamOn(session, kOut).status, 0u);
  ASSERT_EQ(qbufInput(session, 1, data, 4).status, 0u);
  EXPECT_EQ(fake()->decoded.size(), 3u);
  emit(codecs::InputDone{fake()->decoded[2].inputId});
  pump();
  auto events = takeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].dqbuf.buffer.timestamp_sec, 4);
}

TEST_F(MediaSessionTest, ReqbufsOnOutputDropsInputQueuedBeforeStreamon) {
  const uint32_t session = openDecoder();
  const uint8_t data[] = {1, 2, 3};
  ASSERT_EQ(qbufInput(session, 0, data, 1).status, 0u);
  ASSERT_EQ(reqbufs(session, kOut, 2).status, 0u);  // the queued buffer goes with the old set
  ASSERT_EQ(qbufInput(session, 1, data, 2).status, 0u);
  ASSERT_EQ(streamOn(session, kOut).status, 0u);
  ASSERT_NE(fake(), nullptr);
  ASSERT_EQ(fake()->decoded.size(), 1u);
  EXPECT_EQ(fake()->decoded[0].timestamp, timestampFromTimeval(2, 0));
}

TEST_F(MediaSessionTest, DecoderErrorSendsErrorEventAndLaterCommandsFailWithEio) {
  const uint32_t session = openStreamingDecoder(64, 64);
  emit(codecs::StreamError{"broken"});
  pump();
  auto events = takeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, w::VIRTIO_MEDIA_EVT_ERROR);
  EXPECT_EQ(events[0].errnoValue, uint32_t{EIO});
  EXPECT_EQ(getFormat(session, kCap).status, uint32_t{EIO});
  close(session);
  EXPECT_EQ(device_->sessionCount(), 0u);
}

TEST_F(MediaSessionTest, BackendRefusingASessionIsAnErrorEvent) {
  const uint32_t session = openDecoder();
  fakeBackend_->failCreate = true;
  const uint8_t data[] = {1};
  ASSERT_EQ(qbufInput(session, 0, data, 1).status, 0u);
  EXPECT_EQ(streamOn(session, kOut).status, uint32_t{EIO});
  auto events = takeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, w::VIRTIO_MEDIA_EVT_ERROR);
}

}  // namespace
}  // namespace vdec::media::testing
