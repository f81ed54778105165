// SPDX-License-Identifier: MIT
// The harness's virtio-media request encoders against the device's own parser: every chain the
// harness builds (fixed ioctls, QBUF with SHARED_PAGES contiguous/scattered and VIRTIO_OBJECT,
// single- and multi-planar) parses back to what was encoded, with the writable part exactly as
// large as the device needs; CAPTURE layouts from G_FMT.
#include "samples/harness/media_request.h"

#include <linux/videodev2.h>

#include <gtest/gtest.h>

#include "samples/harness/media_buffers.h"
#include "samples/harness/media_session.h"
#include "vdec/base/wire.h"
#include "vdec/media/media_command.h"

namespace vdec::harness {
namespace {

using buffers::GuestAddress;
using buffers::GuestRange;

std::vector<std::byte> readableBytes(const MediaChain& chain) {
  std::vector<std::byte> out;
  for (const auto& segment : chain.readable) out.insert(out.end(), segment.begin(), segment.end());
  return out;
}

size_t writableBytes(const MediaChain& chain) {
  size_t total = 0;
  for (size_t size : chain.writable) total += size;
  return total;
}

media::IoctlCmd parseIoctl(const MediaChain& chain) {
  auto command = media::parseMediaCommand(readableBytes(chain), media::MediaCommandLimits{});
  EXPECT_TRUE(command) << (command ? "" : command.error().message);
  if (!command) return {};
  EXPECT_EQ(command->type, wire::VIRTIO_MEDIA_CMD_IOCTL);
  return std::get<media::IoctlCmd>(command->body);
}

TEST(MediaRequestTest, FixedIoctlsParseAndWritableMatchesTheDevice) {
  v4l2_format format{};
  format.type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
  format.fmt.pix_mp.pixelformat = V4L2_PIX_FMT_H264;
  auto bytes = std::as_bytes(std::span(&format, 1));
  MediaChain chain = fixedIoctlChain(7, ioctlCode(VIDIOC_S_FMT), bytes, true);
  media::IoctlCmd ioctl = parseIoctl(chain);
  ASSERT_NE(ioctl.ioctl, nullptr);
  EXPECT_EQ(ioctl.sessionId, 7u);
  EXPECT_STREQ(ioctl.ioctl->name, "VIDIOC_S_FMT");
  const auto& payload = std::get<media::FixedPayload>(ioctl.payload);
  ASSERT_EQ(payload.size(), sizeof(format));
  EXPECT_EQ(std::memcmp(payload.data(), &format, sizeof(format)), 0);
  EXPECT_EQ(writableBytes(chain),
            sizeof(wire::virtio_media_resp_ioctl) + media::ioctlResponsePayloadSize(ioctl));

  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
  chain = fixedIoctlChain(7, ioctlCode(VIDIOC_STREAMON), std::as_bytes(std::span(&type, 1)), false);
  ioctl = parseIoctl(chain);
  ASSERT_NE(ioctl.ioctl, nullptr);
  EXPECT_EQ(writableBytes(chain), sizeof(wire::virtio_media_resp_ioctl));
  EXPECT_EQ(media::ioctlResponsePayloadSize(ioctl), 0u);

  for (unsigned long request : {VIDIOC_REQBUFS, VIDIOC_G_FMT, VIDIOC_SUBSCRIBE_EVENT,
                                VIDIOC_DECODER_CMD, VIDIOC_G_SELECTION, VIDIOC_G_CTRL}) {
    std::vector<std::byte> payload(_IOC_SIZE(request));
    const bool writesBack = (_IOC_DIR(request) & _IOC_READ) != 0;
    chain = fixedIoctlChain(1, ioctlCode(request), payload, writesBack);
    ioctl = parseIoctl(chain);
    ASSERT_NE(ioctl.ioctl, nullptr) << request;
    EXPECT_EQ(writableBytes(chain),
              sizeof(wire::virtio_media_resp_ioctl) + media::ioctlResponsePayloadSize(ioctl))
        << ioctl.ioctl->name;
  }
}

MediaBuffer userptrBuffer(std::vector<GuestRange> ranges, uint64_t size) {
  MediaBuffer buffer;
  buffer.index = 3;
  buffer.ranges = std::move(ranges);
  buffer.size = size;
  return buffer;
}

TEST(MediaRequestTest, QbufSharedPagesScatteredParsesToTheSamePages) {
  // Three runs of which the last is longer than needed: the SG list is cut to the length.
  const std::vector<GuestRange> ranges = {{GuestAddress{0x50000000}, 8192},
                                          {GuestAddress{0x40002000}, 4096},
                                          {GuestAddress{0x48000000}, 16384}};
  MediaBuffer buffer = userptrBuffer(ranges, 20480);
  MediaBufferRequest request = mediaQbufRequest(buffer, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE,
                                                V4L2_MEMORY_USERPTR, 1234, 1000042);
  MediaChain chain = bufferIoctlChain(9, ioctlCode(VIDIOC_QBUF), request);
  media::IoctlCmd ioctl = parseIoctl(chain);
  ASSERT_NE(ioctl.ioctl, nullptr);
  const auto& parsed = std::get<media::MediaBufferPayload>(ioctl.payload);
  EXPECT_EQ(parsed.buffer.index, 3u);
  EXPECT_EQ(parsed.buffer.timestamp_sec, 1);
  EXPECT_EQ(parsed.buffer.timestamp_usec, 42);
  ASSERT_EQ(parsed.planes.size(), 1u);
  EXPECT_EQ(parsed.planes[0].bytesused, 1234u);
  EXPECT_EQ(parsed.planes[0].length, 20480u);
  ASSERT_EQ(parsed.sharedPages.size(), 1u);
  const std::vector<GuestRange> expected = {{GuestAddress{0x50000000}, 8192},
                                            {GuestAddress{0x40002000}, 4096},
                                            {GuestAddress{0x48000000}, 8192}};
  ASSERT_EQ(parsed.sharedPages[0].size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(parsed.sharedPages[0][i].address.value, expected[i].address.value) << i;
    EXPECT_EQ(parsed.sharedPages[0][i].length, expected[i].length) << i;
  }
  // The SG list travels device-readable only.
  EXPECT_EQ(writableBytes(chain),
            sizeof(wire::virtio_media_resp_ioctl) + media::ioctlResponsePayloadSize(ioctl));
  EXPECT_EQ(writableBytes(chain), 8u + 88u + 64u);
}

TEST(MediaRequestTest, QbufContiguousAndObjectParse) {
  MediaBuffer contiguous = userptrBuffer({{GuestAddress{0x40100000}, 65536}}, 65536);
  auto request = mediaQbufRequest(contiguous, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE,
                                  V4L2_MEMORY_USERPTR, 0, 0);
  auto ioctl = parseIoctl(bufferIoctlChain(1, ioctlCode(VIDIOC_QBUF), request));
  const auto& pages = std::get<media::MediaBufferPayload>(ioctl.payload).sharedPages;
  ASSERT_EQ(pages.size(), 1u);
  ASSERT_EQ(pages[0].size(), 1u);
  EXPECT_EQ(pages[0][0].length, 65536u);

  MediaBuffer object;
  object.index = 1;
  object.size = 4096;
  object.object = ExportedObject{};
  object.object->uuid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  request = mediaQbufRequest(object, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE, V4L2_MEMORY_DMABUF, 0, 0);
  MediaChain chain = bufferIoctlChain(1, ioctlCode(VIDIOC_QBUF), request);
  ioctl = parseIoctl(chain);
  const auto& parsed = std::get<media::MediaBufferPayload>(ioctl.payload);
  ASSERT_EQ(parsed.objects.size(), 1u);
  EXPECT_EQ(parsed.objects[0], object.object->uuid);
  EXPECT_TRUE(parsed.sharedPages.empty());
  // UUIDs come back in the writable part too.
  EXPECT_EQ(writableBytes(chain), 8u + 88u + 64u + 16u);
  EXPECT_EQ(writableBytes(chain),
            sizeof(wire::virtio_media_resp_ioctl) + media::ioctlResponsePayloadSize(ioctl));
}

TEST(MediaRequestTest, SgEntriesCoverExactlyTheLength) {
  const std::vector<GuestRange> ranges = {{GuestAddress{0x1000}, 4096},
                                          {GuestAddress{0x9000}, 4096}};
  EXPECT_TRUE(sgEntries(ranges, 0).empty());
  auto entries = sgEntries(ranges, 4097);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].start, 0x9000u);
  EXPECT_EQ(entries[1].len, 1u);
  EXPECT_EQ(sgEntries(ranges, 1u << 20).size(), 2u);  // never more than the pages
}

TEST(MediaRequestTest, IoctlReplyNeedsItsHeader) {
  EXPECT_FALSE(parseIoctlReply(MediaResponse{4, std::vector<std::byte>(4)}));
  MediaResponse response{8, toBytes(wire::virtio_media_resp_ioctl{{EINVAL, 0}})};
  auto reply = parseIoctlReply(response);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, static_cast<uint32_t>(EINVAL));
  EXPECT_TRUE(reply->payload.empty());
}

v4l2_pix_format_mplane captureFormat(uint32_t fourcc, uint32_t w, uint32_t h, uint32_t stride,
                                     uint32_t sizeimage) {
  v4l2_pix_format_mplane format{};
  format.pixelformat = fourcc;
  format.width = w;
  format.height = h;
  format.num_planes = 1;
  format.plane_fmt[0].bytesperline = stride;
  format.plane_fmt[0].sizeimage = sizeimage;
  return format;
}

TEST(MediaRequestTest, LayoutFromV4l2MatchesTheDeviceLayout) {
  const buffers::Rect visible{0, 0, 1920, 1080};
  for (auto [fourcc, pixel] :
       {std::pair{V4L2_PIX_FMT_NV12, buffers::PixelFormat::kNv12},
        std::pair{V4L2_PIX_FMT_YUV420, buffers::PixelFormat::kI420},
        std::pair{V4L2_PIX_FMT_YVU420, buffers::PixelFormat::kYv12}}) {
    auto expected = buffers::computeFrameLayout(pixel, 1920, 1088, visible);
    ASSERT_TRUE(expected);
    auto layout = layoutFromV4l2(
        captureFormat(fourcc, 1920, expected->height, expected->planes[0].stride,
                      static_cast<uint32_t>(expected->totalSize())),
        v4l2_rect{0, 0, 1920, 1080});
    ASSERT_TRUE(layout) << layout.error().message;
    EXPECT_EQ(*layout, *expected);
  }
}

TEST(MediaRequestTest, LayoutFromV4l2RefusesBadFormats) {
  const v4l2_rect none{};
  EXPECT_FALSE(layoutFromV4l2(captureFormat(V4L2_PIX_FMT_H264, 64, 64, 64, 1 << 20), none));
  EXPECT_FALSE(layoutFromV4l2(captureFormat(V4L2_PIX_FMT_NV12, 64, 64, 32, 1 << 20), none));
  EXPECT_FALSE(layoutFromV4l2(captureFormat(V4L2_PIX_FMT_NV12, 64, 64, 64, 100), none));
  EXPECT_FALSE(layoutFromV4l2(captureFormat(V4L2_PIX_FMT_NV12, 0, 64, 64, 1 << 20), none));
  auto twoPlanes = captureFormat(V4L2_PIX_FMT_NV12, 64, 64, 64, 1 << 20);
  twoPlanes.num_planes = 2;
  EXPECT_FALSE(layoutFromV4l2(twoPlanes, none));
  EXPECT_FALSE(layoutFromV4l2(captureFormat(V4L2_PIX_FMT_NV12, 64, 64, 64, 1 << 20),
                              v4l2_rect{-1, 0, 8, 8}));
  EXPECT_FALSE(layoutFromV4l2(captureFormat(V4L2_PIX_FMT_NV12, 64, 64, 64, 1 << 20),
                              v4l2_rect{60, 0, 8, 8}));
  auto whole = layoutFromV4l2(captureFormat(V4L2_PIX_FMT_NV12, 64, 64, 64, 1 << 20), none);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->visible, (buffers::Rect{0, 0, 64, 64}));
}

}  // namespace
}  // namespace vdec::harness
