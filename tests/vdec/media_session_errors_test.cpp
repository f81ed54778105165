// SPDX-License-Identifier: MIT
// MediaSession: malformed and out-of-state ioctls are answered with their errno, never a crash.
// Wrong payload sizes are refused by parseMediaCommand (tests/vdec/media_command_test.cpp); here
// they are checked once through the device.
#include <cerrno>

#include <gtest/gtest.h>

#include "tests/vdec/media_device_fixture.h"

namespace vdec::media::testing {
namespace {
namespace w = wire;

constexpr uint32_t kOut = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
constexpr uint32_t kCap = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
constexpr uint32_t kEinval = EINVAL;

using MediaSessionErrorsTest = MediaDeviceFixture;

TEST_F(MediaSessionErrorsTest, ShortAndOversizedPayloadsAreEinval) {
  const uint32_t session = open();
  v4l2_format format{};
  format.type = kOut;
  RequestBuilder payload;
  payload.add(format);
  EXPECT_EQ(ioctl(session, 4, payload.drop(1).bytes()).status, kEinval);
  EXPECT_EQ(ioctl(session, 4, payload.zeros(2).bytes()).status, kEinval);
  EXPECT_EQ(ioctl(session, 18, {}).status, kEinval);  // STREAMON without its type
  auto buffer = userptrBuffer(kOut, 0, kInputBase, 8192, 10);
  buffer.resize(buffer.size() - 1);  // SG list cut short
  EXPECT_EQ(ioctl(session, 15, buffer).status, kEinval);
}

TEST_F(MediaSessionErrorsTest, FormatIoctlsRefuseBadTypesAndAdjustBadValues) {
  const uint32_t session = open();
  EXPECT_EQ(getFormat(session, 0).status, kEinval);
  EXPECT_EQ(getFormat(session, 77).status, kEinval);
  EXPECT_EQ(getFormat(session, V4L2_BUF_TYPE_VBI_CAPTURE).status, kEinval);
  // S_FMT never fails for its values: an unknown codec keeps the current one, absurd sizes too.
  auto reply = setFormat(session, kOut, v4l2_fourcc('X', 'X', 'X', 'X'), 0xffffffff, 3);
  ASSERT_EQ(reply.status, 0u);
  auto format = reply.as<v4l2_format>();
  EXPECT_EQ(format.fmt.pix_mp.pixelformat, uint32_t{V4L2_PIX_FMT_H264});
  EXPECT_EQ(format.fmt.pix_mp.width, 640u);
  // A codec the backend does not decode (the fake has H.264 and VP9) is still a known fourcc:
  // ENUM_FMT does not list it, but S_FMT takes it; decoding then fails with an ERROR event.
  v4l2_fmtdesc desc{};
  desc.type = kOut;
  desc.index = 2;
  EXPECT_EQ(ioctlOf(session, 2, desc).status, kEinval);  // the end of the list
  desc.type = 99;
  desc.index = 0;
  EXPECT_EQ(ioctlOf(session, 2, desc).status, kEinval);
  v4l2_frmsizeenum sizes{};
  sizes.pixel_format = v4l2_fourcc('X', 'X', 'X', 'X');
  EXPECT_EQ(ioctlOf(session, 74, sizes).status, kEinval);
  sizes.pixel_format = V4L2_PIX_FMT_H264;
  sizes.index = 1;
  EXPECT_EQ(ioctlOf(session, 74, sizes).status, kEinval);
}

TEST_F(MediaSessionErrorsTest, ReqbufsRefusesMmapBadTypesAndStreamingQueues) {
  const uint32_t session = openDecoder();
  EXPECT_EQ(reqbufs(session, kOut, 2, V4L2_MEMORY_MMAP).status, kEinval);
  EXPECT_EQ(reqbufs(session, kOut, 2, V4L2_MEMORY_OVERLAY).status, kEinval);
  EXPECT_EQ(reqbufs(session, kOut, 2, 77).status, kEinval);
  EXPECT_EQ(reqbufs(session, 0, 2).status, kEinval);
  EXPECT_EQ(reqbufs(session, V4L2_BUF_TYPE_META_OUTPUT, 2).status, kEinval);
  EXPECT_EQ(reqbufs(session, kOut, 1000).as<v4l2_requestbuffers>().count, 32u);
  ASSERT_EQ(streamOn(session, kOut).status, 0u);
  EXPECT_EQ(reqbufs(session, kOut, 4).status, uint32_t{EBUSY});
  v4l2_create_buffers create{};
  create.memory = V4L2_MEMORY_MMAP;
  create.format.type = kCap;
  EXPECT_EQ(ioctlOf(session, 92, create).status, kEinval);
  create.memory = V4L2_MEMORY_USERPTR;
  create.count = 100;
  auto created = ioctlOf(session, 92, create);
  ASSERT_EQ(created.status, 0u);
  EXPECT_EQ(created.as<v4l2_create_buffers>().index, 0u);
  EXPECT_EQ(created.as<v4l2_create_buffers>().count, 32u);
}

TEST_F(MediaSessionErrorsTest, QbufRefusesBadIndexMemoryTypeAndDoubleQueue) {
  const uint32_t session = openDecoder();
  const uint8_t data[] = {1, 2, 3};
  EXPECT_EQ(qbufInput(session, 2, data, 0).status, kEinval);  // 2 buffers
  EXPECT_EQ(ioctl(session, 15, userptrBuffer(kCap, 0, kCaptureBase, 4096)).status, kEinval);
  EXPECT_EQ(ioctl(session, 15, userptrBuffer(V4L2_BUF_TYPE_VIDEO_OUTPUT, 0, kInputBase, 4096))
                .status,
            kEinval);  // not the queue's type
  // bytesused beyond the plane's length.
  EXPECT_EQ(ioctl(session, 15, userptrBuffer(kOut, 0, kInputBase, 4096, 5000)).status, kEinval);
  // Pages outside guest RAM.
  EXPECT_EQ(ioctl(session, 15, userptrBuffer(kOut, 0, 0x1000, 4096, 10)).status, kEinval);
  ASSERT_EQ(qbufInput(session, 0, data, 0).status, 0u);
  EXPECT_EQ(qbufInput(session, 0, data, 0).status, kEinval);  // already queued
  // DMABUF buffers on a USERPTR queue; DMABUF without a resolver.
  w::v4l2_buffer buffer{};
  buffer.index = 1;
  buffer.type = kOut;
  buffer.memory = V4L2_MEMORY_DMABUF;
  buffer.length = 1;
  RequestBuilder dmabuf;
  dmabuf.add(buffer).add(w::v4l2_plane{10, 4096, 0, 0, {}}).zeros(16);
  EXPECT_EQ(ioctl(session, 15, dmabuf.bytes()).status, kEinval);
  ASSERT_EQ(reqbufs(session, kCap, 4, V4L2_MEMORY_DMABUF).status, 0u);
  buffer.type = kCap;
  RequestBuilder capture;
  capture.add(buffer).add(w::v4l2_plane{0, 1 << 20, 0, 0, {}}).zeros(16);
  EXPECT_EQ(ioctl(session, 15, capture.bytes()).status, kEinval);
  // QUERYBUF: index and type checked; no plane is EINVAL.
  auto query = userptrBuffer(kOut, 5, kInputBase, 4096);
  EXPECT_EQ(ioctl(session, 9, query).status, kEinval);
  auto ok = ioctl(session, 9, userptrBuffer(kOut, 0, kInputBase, 4096));
  ASSERT_EQ(ok.status, 0u);
  EXPECT_TRUE(ok.as<w::v4l2_buffer>().flags & V4L2_BUF_FLAG_QUEUED);
}

TEST_F(MediaSessionErrorsTest, CaptureBufferSmallerThanTheFrameIsEinval) {
  const uint32_t session = openDecoder();
  const uint8_t data[] = {0, 0, 1};
  ASSERT_EQ(qbufInput(session, 0, data, 0).status, 0u);
  ASSERT_EQ(streamOn(session, kOut).status, 0u);
  codecs::StreamFormat format;
  format.codedWidth = 320;
  format.codedHeight = 240;
  format.visible = {0, 0, 320, 240};
  format.minBuffers = 4;
  emit(codecs::FormatChanged{format});
  pump();
  ASSERT_EQ(reqbufs(session, kCap, 4).status, 0u);
  EXPECT_EQ(qbufCapture(session, 0, 4096).status, kEinval);
  EXPECT_EQ(qbufCapture(session, 0).status, 0u);
  // PREPARE_BUF validates without queuing.
  auto prepared = ioctl(session, 93, userptrBuffer(kCap, 1, kCaptureBase + (1 << 20), 1 << 20));
  ASSERT_EQ(prepared.status, 0u);
  EXPECT_TRUE(prepared.as<w::v4l2_buffer>().flags & V4L2_BUF_FLAG_PREPARED);
  EXPECT_FALSE(prepared.as<w::v4l2_buffer>().flags & V4L2_BUF_FLAG_QUEUED);
}

TEST_F(MediaSessionErrorsTest, StreamingDecoderCommandsAndEventsRefuseBadValues) {
  const uint32_t session = open();
  EXPECT_EQ(streamOn(session, kOut).status, kEinval);  // no buffers
  EXPECT_EQ(streamOn(session, 0).status, kEinval);
  EXPECT_EQ(streamOn(session, 99, false).status, kEinval);
  EXPECT_EQ(decoderCommand(session, V4L2_DEC_CMD_PAUSE).status, kEinval);
  EXPECT_EQ(decoderCommand(session, 1000, true).status, kEinval);
  v4l2_decoder_cmd stop{};
  stop.cmd = V4L2_DEC_CMD_STOP;
  stop.flags = V4L2_DEC_CMD_STOP_IMMEDIATELY;
  EXPECT_EQ(ioctlOf(session, 96, stop).status, kEinval);
  EXPECT_EQ(subscribe(session, V4L2_EVENT_VSYNC).status, kEinval);
  EXPECT_EQ(subscribe(session, 0xdeadbeef).status, kEinval);
  v4l2_event_subscription all{};
  all.type = V4L2_EVENT_ALL;
  EXPECT_EQ(ioctlOf(session, 91, all).status, 0u);
}

TEST_F(MediaSessionErrorsTest, SelectionAndControlsRefuseWhatIsNotThere) {
  const uint32_t session = open();
  v4l2_selection sel{};
  sel.type = kOut;
  sel.target = V4L2_SEL_TGT_COMPOSE;
  EXPECT_EQ(ioctlOf(session, 94, sel).status, kEinval);
  sel.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  sel.target = 0x7777;
  EXPECT_EQ(ioctlOf(session, 94, sel).status, kEinval);
  sel.target = V4L2_SEL_TGT_COMPOSE;
  auto compose = ioctlOf(session, 94, sel);
  ASSERT_EQ(compose.status, 0u);
  EXPECT_EQ(compose.as<v4l2_selection>().r.width, 640u);
  sel.target = V4L2_SEL_TGT_CROP;
  EXPECT_EQ(ioctlOf(session, 95, sel).status, kEinval);  // read-only
  v4l2_control control{0x12345, 0};
  EXPECT_EQ(ioctlOf(session, 27, control).status, kEinval);
  control.id = V4L2_CID_MIN_BUFFERS_FOR_CAPTURE;
  EXPECT_EQ(ioctlOf(session, 28, control).status, uint32_t{EACCES});
  v4l2_queryctrl query{};
  query.id = 0x12345;
  EXPECT_EQ(ioctlOf(session, 36, query).status, kEinval);
  query.id = V4L2_CTRL_FLAG_NEXT_COMPOUND;
  EXPECT_EQ(ioctlOf(session, 36, query).status, kEinval);
  // NEXT_CTRL walks the offered controls in id order: MIN_BUFFERS, then the fake's H.264 and
  // VP9 profile menus, then the 5 private statistics controls, then the end.
  std::vector<uint32_t> walked;
  query.id = V4L2_CTRL_FLAG_NEXT_CTRL;
  for (auto reply = ioctlOf(session, 36, query); reply.status == 0 && walked.size() < 10;
       reply = ioctlOf(session, 36, query)) {
    walked.push_back(reply.as<v4l2_queryctrl>().id);
    query.id = walked.back() | V4L2_CTRL_FLAG_NEXT_CTRL;
  }
  EXPECT_EQ(walked, (std::vector<uint32_t>{V4L2_CID_MIN_BUFFERS_FOR_CAPTURE,
                                           V4L2_CID_MPEG_VIDEO_H264_PROFILE,
                                           V4L2_CID_MPEG_VIDEO_VP9_PROFILE, 0x08000001,
                                           0x08000002, 0x08000003, 0x08000004, 0x08000005}));
  query.id = V4L2_CID_MPEG_VIDEO_H264_PROFILE;
  auto menu = ioctlOf(session, 36, query).as<v4l2_queryctrl>();
  EXPECT_EQ(menu.type, uint32_t{V4L2_CTRL_TYPE_MENU});
  EXPECT_EQ(menu.maximum, V4L2_MPEG_VIDEO_H264_PROFILE_HIGH);
  v4l2_querymenu item{};
  item.id = V4L2_CID_MPEG_VIDEO_H264_PROFILE;
  item.index = V4L2_MPEG_VIDEO_H264_PROFILE_EXTENDED;  // the fake does not decode it
  EXPECT_EQ(ioctlOf(session, 37, item).status, kEinval);
  item.index = V4L2_MPEG_VIDEO_H264_PROFILE_MAIN;
  EXPECT_EQ(ioctlOf(session, 37, item).status, 0u);
  query.id = V4L2_CID_MPEG_VIDEO_HEVC_PROFILE;  // the fake has no HEVC
  EXPECT_EQ(ioctlOf(session, 36, query).status, kEinval);
  v4l2_query_ext_ctrl ext{};
  ext.id = V4L2_CID_MIN_BUFFERS_FOR_CAPTURE;
  auto extReply = ioctlOf(session, 103, ext);
  ASSERT_EQ(extReply.status, 0u);
  EXPECT_EQ(extReply.as<v4l2_query_ext_ctrl>().elems, 1u);
}

TEST_F(MediaSessionErrorsTest, ExtControlsAnswerValuesAndTheFailingIndex) {
  const uint32_t session = open();
  w::v4l2_ext_controls header{};
  header.count = 2;
  auto build = [&](uint32_t second) {
    RequestBuilder bytes;
    bytes.add(header)
        .add(w::v4l2_ext_control{V4L2_CID_MIN_BUFFERS_FOR_CAPTURE, 0, {}, 0})
        .add(w::v4l2_ext_control{second, 0, {}, 0});
    return bytes.bytes();
  };
  auto got = ioctl(session, 71, build(V4L2_CID_MPEG_VIDEO_H264_PROFILE));
  ASSERT_EQ(got.status, 0u);
  ASSERT_EQ(got.payload.size(), sizeof(w::v4l2_ext_controls) + 2 * sizeof(w::v4l2_ext_control));
  w::v4l2_ext_control first{};
  std::memcpy(&first, got.payload.data() + sizeof(w::v4l2_ext_controls), sizeof(first));
  EXPECT_EQ(first.value, 4u);
  auto bad = ioctl(session, 71, build(0x999999));
  EXPECT_EQ(bad.status, kEinval);
  EXPECT_EQ(bad.as<w::v4l2_ext_controls>().error_idx, 1u);
  EXPECT_EQ(ioctl(session, 72, build(V4L2_CID_MPEG_VIDEO_H264_PROFILE)).status, uint32_t{EACCES});
  header.count = 5000;
  EXPECT_EQ(ioctl(session, 71, RequestBuilder().add(header).bytes()).status, kEinval);
}

}  // namespace
}  // namespace vdec::media::testing
