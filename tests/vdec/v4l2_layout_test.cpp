// SPDX-License-Identifier: MIT
// Our V4L2 wire structs and ioctl table against the kernel's <linux/videodev2.h> (this host is
// 64-bit little-endian, the layout virtio-media puts on the wire).
#include <linux/videodev2.h>

#include <cstddef>
#include <initializer_list>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "vdec/media/v4l2_ioctl_table.h"
#include "vdec/protocol/v4l2.h"
#include "vdec/protocol/virtio_media.h"

namespace vdec::media {
namespace {

static_assert(sizeof(void*) == 8, "the kernel header gives the 64-bit layout only on 64-bit hosts");

TEST(V4l2Layout, StructSizesMatchTheKernelHeader) {
  EXPECT_EQ(sizeof(wire::v4l2_buffer), sizeof(::v4l2_buffer));
  EXPECT_EQ(sizeof(wire::v4l2_plane), sizeof(::v4l2_plane));
  EXPECT_EQ(sizeof(wire::v4l2_timecode), sizeof(::v4l2_timecode));
  EXPECT_EQ(sizeof(wire::v4l2_event), sizeof(::v4l2_event));
  EXPECT_EQ(sizeof(wire::v4l2_ext_controls), sizeof(::v4l2_ext_controls));
  EXPECT_EQ(sizeof(wire::v4l2_ext_control), sizeof(::v4l2_ext_control));
}

TEST(V4l2Layout, FieldOffsetsMatchTheKernelHeader) {
  EXPECT_EQ(offsetof(wire::v4l2_buffer, timestamp_sec), offsetof(::v4l2_buffer, timestamp));
  EXPECT_EQ(offsetof(wire::v4l2_buffer, timecode), offsetof(::v4l2_buffer, timecode));
  EXPECT_EQ(offsetof(wire::v4l2_buffer, sequence), offsetof(::v4l2_buffer, sequence));
  EXPECT_EQ(offsetof(wire::v4l2_buffer, memory), offsetof(::v4l2_buffer, memory));
  EXPECT_EQ(offsetof(wire::v4l2_buffer, m), offsetof(::v4l2_buffer, m));
  EXPECT_EQ(offsetof(wire::v4l2_buffer, length), offsetof(::v4l2_buffer, length));
  EXPECT_EQ(offsetof(wire::v4l2_buffer, request_fd), offsetof(::v4l2_buffer, request_fd));
  EXPECT_EQ(offsetof(wire::v4l2_plane, m), offsetof(::v4l2_plane, m));
  EXPECT_EQ(offsetof(wire::v4l2_plane, data_offset), offsetof(::v4l2_plane, data_offset));
  EXPECT_EQ(offsetof(wire::v4l2_event, u), offsetof(::v4l2_event, u));
  EXPECT_EQ(offsetof(wire::v4l2_event, pending), offsetof(::v4l2_event, pending));
  EXPECT_EQ(offsetof(wire::v4l2_event, timestamp_sec), offsetof(::v4l2_event, timestamp));
  EXPECT_EQ(offsetof(wire::v4l2_event, id), offsetof(::v4l2_event, id));
  EXPECT_EQ(offsetof(wire::v4l2_ext_controls, count), offsetof(::v4l2_ext_controls, count));
  EXPECT_EQ(offsetof(wire::v4l2_ext_controls, controls), offsetof(::v4l2_ext_controls, controls));
  EXPECT_EQ(offsetof(wire::v4l2_ext_control, size), offsetof(::v4l2_ext_control, size));
  EXPECT_EQ(offsetof(wire::v4l2_ext_control, value), offsetof(::v4l2_ext_control, value));
}

TEST(V4l2Layout, ConstantsMatchTheKernelHeader) {
  EXPECT_EQ(v4l2::kMaxPlanes, VIDEO_MAX_PLANES);
  EXPECT_EQ(wire::VIRTIO_MEDIA_MAX_PLANES, VIDEO_MAX_PLANES);
  EXPECT_EQ(v4l2::kMemoryMmap, V4L2_MEMORY_MMAP);
  EXPECT_EQ(v4l2::kMemoryUserptr, V4L2_MEMORY_USERPTR);
  EXPECT_EQ(v4l2::kMemoryOverlay, V4L2_MEMORY_OVERLAY);
  EXPECT_EQ(v4l2::kMemoryDmabuf, V4L2_MEMORY_DMABUF);
  EXPECT_EQ(v4l2::kBufTypeVideoCapture, V4L2_BUF_TYPE_VIDEO_CAPTURE);
  EXPECT_EQ(v4l2::kBufTypeVideoOutput, V4L2_BUF_TYPE_VIDEO_OUTPUT);
  EXPECT_EQ(v4l2::kBufTypeVideoCaptureMplane, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE);
  EXPECT_EQ(v4l2::kBufTypeVideoOutputMplane, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE);
  EXPECT_EQ(v4l2::kBufTypeLast, V4L2_BUF_TYPE_META_OUTPUT);
  for (uint32_t type = 0; type <= v4l2::kBufTypeLast + 1; ++type) {
    EXPECT_EQ(v4l2::isMultiplanar(type), V4L2_TYPE_IS_MULTIPLANAR(type)) << type;
  }
}

// Every row of the table: code, payload size and direction as the VIDIOC_* macro says.
TEST(V4l2IoctlTable, EveryRowMatchesItsVidiocMacro) {
  const std::map<std::string, unsigned long> kernel = {
      {"VIDIOC_ENUM_FMT", VIDIOC_ENUM_FMT},
      {"VIDIOC_G_FMT", VIDIOC_G_FMT},
      {"VIDIOC_S_FMT", VIDIOC_S_FMT},
      {"VIDIOC_REQBUFS", VIDIOC_REQBUFS},
      {"VIDIOC_QUERYBUF", VIDIOC_QUERYBUF},
      {"VIDIOC_QBUF", VIDIOC_QBUF},
      {"VIDIOC_STREAMON", VIDIOC_STREAMON},
      {"VIDIOC_STREAMOFF", VIDIOC_STREAMOFF},
      {"VIDIOC_G_PARM", VIDIOC_G_PARM},
      {"VIDIOC_S_PARM", VIDIOC_S_PARM},
      {"VIDIOC_G_CTRL", VIDIOC_G_CTRL},
      {"VIDIOC_S_CTRL", VIDIOC_S_CTRL},
      {"VIDIOC_QUERYCTRL", VIDIOC_QUERYCTRL},
      {"VIDIOC_QUERYMENU", VIDIOC_QUERYMENU},
      {"VIDIOC_TRY_FMT", VIDIOC_TRY_FMT},
      {"VIDIOC_G_EXT_CTRLS", VIDIOC_G_EXT_CTRLS},
      {"VIDIOC_S_EXT_CTRLS", VIDIOC_S_EXT_CTRLS},
      {"VIDIOC_TRY_EXT_CTRLS", VIDIOC_TRY_EXT_CTRLS},
      {"VIDIOC_ENUM_FRAMESIZES", VIDIOC_ENUM_FRAMESIZES},
      {"VIDIOC_ENUM_FRAMEINTERVALS", VIDIOC_ENUM_FRAMEINTERVALS},
      {"VIDIOC_SUBSCRIBE_EVENT", VIDIOC_SUBSCRIBE_EVENT},
      {"VIDIOC_UNSUBSCRIBE_EVENT", VIDIOC_UNSUBSCRIBE_EVENT},
      {"VIDIOC_CREATE_BUFS", VIDIOC_CREATE_BUFS},
      {"VIDIOC_PREPARE_BUF", VIDIOC_PREPARE_BUF},
      {"VIDIOC_G_SELECTION", VIDIOC_G_SELECTION},
      {"VIDIOC_S_SELECTION", VIDIOC_S_SELECTION},
      {"VIDIOC_DECODER_CMD", VIDIOC_DECODER_CMD},
      {"VIDIOC_TRY_DECODER_CMD", VIDIOC_TRY_DECODER_CMD},
      {"VIDIOC_QUERY_EXT_CTRL", VIDIOC_QUERY_EXT_CTRL},
  };
  EXPECT_EQ(supportedV4l2Ioctls().size(), kernel.size());
  for (const auto& info : supportedV4l2Ioctls()) {
    SCOPED_TRACE(info.name);
    auto it = kernel.find(info.name);
    ASSERT_NE(it, kernel.end());
    EXPECT_EQ(info.code, _IOC_NR(it->second));
    EXPECT_EQ(info.payloadSize, _IOC_SIZE(it->second));
    const unsigned dir = _IOC_DIR(it->second);
    switch (info.direction) {
      case IoctlDirection::kWrite: EXPECT_EQ(dir, unsigned{_IOC_WRITE}); break;
      case IoctlDirection::kRead: EXPECT_EQ(dir, unsigned{_IOC_READ}); break;
      case IoctlDirection::kReadWrite: EXPECT_EQ(dir, unsigned{_IOC_READ | _IOC_WRITE}); break;
    }
    EXPECT_EQ(findV4l2Ioctl(info.code), &info);
  }
}

// The spec replaces these by the config space and the eventq: the device answers ENOTTY.
TEST(V4l2IoctlTable, ReplacedIoctlsAreNotSupported) {
  for (unsigned long ioctl : std::initializer_list<unsigned long>{VIDIOC_QUERYCAP, VIDIOC_DQBUF, VIDIOC_DQEVENT, VIDIOC_LOG_STATUS,
                              VIDIOC_G_JPEGCOMP, VIDIOC_S_JPEGCOMP}) {
    EXPECT_EQ(findV4l2Ioctl(_IOC_NR(ioctl)), nullptr) << _IOC_NR(ioctl);
  }
  EXPECT_EQ(findV4l2Ioctl(0xFFFFFFFFu), nullptr);
  EXPECT_EQ(findV4l2Ioctl(255), nullptr);
}

}  // namespace
}  // namespace vdec::media
