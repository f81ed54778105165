// SPDX-License-Identifier: MIT
#include "vdec/media/v4l2_ioctl_table.h"

#include <algorithm>
#include <array>

namespace vdec::media {
namespace {

using D = IoctlDirection;
using K = IoctlPayloadKind;

// Codes and sizes from <linux/videodev2.h> (64-bit); tests/vdec/v4l2_layout_test.cpp checks
// every row against the kernel header's VIDIOC_* macros.
constexpr std::array kIoctls = {
    V4l2IoctlInfo{2, "VIDIOC_ENUM_FMT", D::kReadWrite, 64, K::kFixed},
    V4l2IoctlInfo{4, "VIDIOC_G_FMT", D::kReadWrite, 208, K::kFixed},
    V4l2IoctlInfo{5, "VIDIOC_S_FMT", D::kReadWrite, 208, K::kFixed},
    V4l2IoctlInfo{8, "VIDIOC_REQBUFS", D::kReadWrite, 20, K::kFixed},
    V4l2IoctlInfo{9, "VIDIOC_QUERYBUF", D::kReadWrite, 88, K::kBuffer},
    V4l2IoctlInfo{15, "VIDIOC_QBUF", D::kReadWrite, 88, K::kBuffer},
    V4l2IoctlInfo{18, "VIDIOC_STREAMON", D::kWrite, 4, K::kFixed},
    V4l2IoctlInfo{19, "VIDIOC_STREAMOFF", D::kWrite, 4, K::kFixed},
    V4l2IoctlInfo{21, "VIDIOC_G_PARM", D::kReadWrite, 204, K::kFixed},
    V4l2IoctlInfo{22, "VIDIOC_S_PARM", D::kReadWrite, 204, K::kFixed},
    V4l2IoctlInfo{27, "VIDIOC_G_CTRL", D::kReadWrite, 8, K::kFixed},
    V4l2IoctlInfo{28, "VIDIOC_S_CTRL", D::kReadWrite, 8, K::kFixed},
    V4l2IoctlInfo{36, "VIDIOC_QUERYCTRL", D::kReadWrite, 68, K::kFixed},
    V4l2IoctlInfo{37, "VIDIOC_QUERYMENU", D::kReadWrite, 44, K::kFixed},
    V4l2IoctlInfo{64, "VIDIOC_TRY_FMT", D::kReadWrite, 208, K::kFixed},
    V4l2IoctlInfo{71, "VIDIOC_G_EXT_CTRLS", D::kReadWrite, 32, K::kExtControls},
    V4l2IoctlInfo{72, "VIDIOC_S_EXT_CTRLS", D::kReadWrite, 32, K::kExtControls},
    V4l2IoctlInfo{73, "VIDIOC_TRY_EXT_CTRLS", D::kReadWrite, 32, K::kExtControls},
    V4l2IoctlInfo{74, "VIDIOC_ENUM_FRAMESIZES", D::kReadWrite, 44, K::kFixed},
    V4l2IoctlInfo{75, "VIDIOC_ENUM_FRAMEINTERVALS", D::kReadWrite, 52, K::kFixed},
    V4l2IoctlInfo{90, "VIDIOC_SUBSCRIBE_EVENT", D::kWrite, 32, K::kFixed},
    V4l2IoctlInfo{91, "VIDIOC_UNSUBSCRIBE_EVENT", D::kWrite, 32, K::kFixed},
    V4l2IoctlInfo{92, "VIDIOC_CREATE_BUFS", D::kReadWrite, 256, K::kFixed},
    V4l2IoctlInfo{93, "VIDIOC_PREPARE_BUF", D::kReadWrite, 88, K::kBuffer},
    V4l2IoctlInfo{94, "VIDIOC_G_SELECTION", D::kReadWrite, 64, K::kFixed},
    V4l2IoctlInfo{95, "VIDIOC_S_SELECTION", D::kReadWrite, 64, K::kFixed},
    V4l2IoctlInfo{96, "VIDIOC_DECODER_CMD", D::kReadWrite, 72, K::kFixed},
    V4l2IoctlInfo{97, "VIDIOC_TRY_DECODER_CMD", D::kReadWrite, 72, K::kFixed},
    V4l2IoctlInfo{103, "VIDIOC_QUERY_EXT_CTRL", D::kReadWrite, 232, K::kFixed},
};

constexpr bool sortedByCode() {
  for (size_t i = 1; i < kIoctls.size(); ++i) {
    if (kIoctls[i - 1].code >= kIoctls[i].code) return false;
  }
  return true;
}
static_assert(sortedByCode(), "findV4l2Ioctl() searches by binary search");

}  // namespace

const V4l2IoctlInfo* findV4l2Ioctl(uint32_t code) {
  auto it = std::lower_bound(kIoctls.begin(), kIoctls.end(), code,
                             [](const V4l2IoctlInfo& info, uint32_t c) { return info.code < c; });
  return it != kIoctls.end() && it->code == code ? &*it : nullptr;
}

std::span<const V4l2IoctlInfo> supportedV4l2Ioctls() { return kIoctls; }

}  // namespace vdec::media
