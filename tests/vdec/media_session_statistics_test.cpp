// SPDX-License-Identifier: MIT
// MediaSession statistics: the private controls VDEC_CONTROL_STATS_* read through G_CTRL,
// G_EXT_CTRLS and QUERYCTRL, per session, as virtio-video's GET_CONTROL answers them.
#include <linux/videodev2.h>

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include "tests/vdec/media_device_fixture.h"
#include "vdec/protocol/virtio_video.h"

namespace vdec::media::testing {
namespace {
namespace w = wire;

constexpr uint32_t kGetCtrl = 27;      // VIDIOC_G_CTRL
constexpr uint32_t kSetCtrl = 28;      // VIDIOC_S_CTRL
constexpr uint32_t kQueryCtrl = 36;    // VIDIOC_QUERYCTRL
constexpr uint32_t kGetExtCtrls = 71;  // VIDIOC_G_EXT_CTRLS

class MediaSessionStatisticsTest : public MediaDeviceFixture {
 protected:
  int32_t control(uint32_t session, uint32_t id) {
    auto reply = ioctlOf(session, kGetCtrl, v4l2_control{id, -1});
    EXPECT_EQ(reply.status, 0u) << std::hex << id;
    return reply.as<v4l2_control>().value;
  }
};

codecs::PictureReady picture(uint32_t buffer, uint64_t copied, codecs::OutputPath path,
                             bool error = false) {
  codecs::PictureReady ready{buffer, buffer};
  ready.bytesCopied = copied;
  ready.path = path;
  ready.error = error;
  return ready;
}

TEST_F(MediaSessionStatisticsTest, CountsEachSessionsPicturesByPath) {
  const uint32_t session = openStreamingDecoder(320, 240);
  const uint32_t other = open();  // its own, empty statistics
  EXPECT_EQ(control(session, w::VDEC_CONTROL_STATS_FRAMES), 0);
  EXPECT_EQ(control(session, w::VDEC_CONTROL_STATS_BYTES_COPIED_PER_FRAME), 0);
  emit(picture(0, 0, codecs::OutputPath::kDirect));
  emit(picture(1, 0, codecs::OutputPath::kDirect));
  emit(picture(2, 3000, codecs::OutputPath::kBounce, true));
  emit(codecs::PictureReady{3, 0, false, true, 0});  // EOS marker: not a frame
  pump();
  EXPECT_EQ(control(session, w::VDEC_CONTROL_STATS_FRAMES), 3);
  EXPECT_EQ(control(session, w::VDEC_CONTROL_STATS_BYTES_COPIED_PER_FRAME), 1000);
  EXPECT_EQ(control(session, w::VDEC_CONTROL_STATS_DIRECT_FRAMES), 2);
  EXPECT_EQ(control(session, w::VDEC_CONTROL_STATS_BOUNCE_FRAMES), 1);
  EXPECT_EQ(control(session, w::VDEC_CONTROL_STATS_ERROR_FRAMES), 1);
  EXPECT_EQ(control(other, w::VDEC_CONTROL_STATS_FRAMES), 0);
  // Read-only.
  EXPECT_EQ(ioctlOf(session, kSetCtrl, v4l2_control{w::VDEC_CONTROL_STATS_FRAMES, 0}).status,
            uint32_t{EACCES});
  // G_EXT_CTRLS answers the same values.
  w::v4l2_ext_controls header{};
  header.count = 2;
  RequestBuilder bytes;
  bytes.add(header)
      .add(w::v4l2_ext_control{w::VDEC_CONTROL_STATS_FRAMES, 0, {}, 0})
      .add(w::v4l2_ext_control{w::VDEC_CONTROL_STATS_DIRECT_FRAMES, 0, {}, 0});
  auto ext = ioctl(session, kGetExtCtrls, bytes.bytes());
  ASSERT_EQ(ext.status, 0u);
  ASSERT_EQ(ext.payload.size(), sizeof(w::v4l2_ext_controls) + 2 * sizeof(w::v4l2_ext_control));
  w::v4l2_ext_control values[2]{};
  std::memcpy(values, ext.payload.data() + sizeof(w::v4l2_ext_controls), sizeof(values));
  EXPECT_EQ(values[0].value, 3u);
  EXPECT_EQ(values[1].value, 2u);
}

TEST_F(MediaSessionStatisticsTest, QueryAndEnumerationListThemAsReadOnlyIntegers) {
  const uint32_t session = open();
  v4l2_queryctrl query{};
  query.id = w::VDEC_CONTROL_STATS_BYTES_COPIED_PER_FRAME;
  auto reply = ioctlOf(session, kQueryCtrl, query);
  ASSERT_EQ(reply.status, 0u);
  auto described = reply.as<v4l2_queryctrl>();
  EXPECT_EQ(described.type, uint32_t{V4L2_CTRL_TYPE_INTEGER});
  EXPECT_TRUE(described.flags & V4L2_CTRL_FLAG_READ_ONLY);
  EXPECT_TRUE(described.flags & V4L2_CTRL_FLAG_VOLATILE);
  EXPECT_EQ(described.minimum, 0);
  EXPECT_EQ(described.maximum, INT32_MAX);
  std::vector<uint32_t> walked;
  query.id = V4L2_CID_MPEG_VIDEO_VP9_PROFILE | V4L2_CTRL_FLAG_NEXT_CTRL;  // the fake's last menu
  for (reply = ioctlOf(session, kQueryCtrl, query); reply.status == 0 && walked.size() < 10;
       reply = ioctlOf(session, kQueryCtrl, query)) {
    walked.push_back(reply.as<v4l2_queryctrl>().id);
    query.id = walked.back() | V4L2_CTRL_FLAG_NEXT_CTRL;
  }
  EXPECT_EQ(walked, (std::vector<uint32_t>{
                        w::VDEC_CONTROL_STATS_FRAMES, w::VDEC_CONTROL_STATS_BYTES_COPIED_PER_FRAME,
                        w::VDEC_CONTROL_STATS_DIRECT_FRAMES, w::VDEC_CONTROL_STATS_BOUNCE_FRAMES,
                        w::VDEC_CONTROL_STATS_ERROR_FRAMES}));
}

}  // namespace
}  // namespace vdec::media::testing
