// SPDX-License-Identifier: MIT
// MediaDevice with the real FFmpeg backend: generated clips (H.264 with B-frames and with a
// mid-stream resolution change, VP9 with hidden frames, one IVF frame per buffer) decoded through the V4L2 stateful
// decoder sequence (USERPTR buffers in test guest RAM) match host ffmpeg frame by frame, and
// I420 pictures are decoded straight into the guest's pages (no byte copied).
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <fstream>
#include <iterator>
#include <set>

#include <gtest/gtest.h>

extern "C" {
#include <libavutil/md5.h>
}

#include "codecs/ffmpeg_backend.h"
#include "tests/clips/clip_factory.h"
#include "tests/vdec/media_device_fixture.h"

namespace vdec::media::testing {
namespace {
namespace w = wire;

constexpr uint32_t kOut = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
constexpr uint32_t kCap = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
constexpr uint32_t kInputs = 4;
constexpr size_t kChunk = 4096;  // Annex-B input is cut anywhere

class MediaFfmpegTest : public MediaDeviceFixture {
 protected:
  void SetUp() override {
    DeviceConfig config;
    config.decoderThreads = 2;
    restart(config, std::make_shared<codecs::FfmpegBackend>());
  }

  // MD5 of the visible area as I420 (the clip reference's framemd5 of yuv420p).
  std::string visibleMd5(uint64_t gpa, const v4l2_format& format, const v4l2_rect& visible) {
    const uint32_t stride = format.fmt.pix_mp.plane_fmt[0].bytesperline;
    const uint32_t rows = format.fmt.pix_mp.height;
    std::vector<uint8_t> bytes;
    auto copyPlane = [&](uint64_t offset, uint32_t planeStride, uint32_t left, uint32_t top,
                         uint32_t width, uint32_t height) {
      for (uint32_t y = 0; y < height; ++y) {
        const auto* row = reinterpret_cast<const uint8_t*>(
            ram_.host(gpa + offset + uint64_t{top + y} * planeStride + left));
        bytes.insert(bytes.end(), row, row + width);
      }
    };
    copyPlane(0, stride, visible.left, visible.top, visible.width, visible.height);
    const uint32_t cw = (visible.width + 1) / 2;
    const uint32_t ch = (visible.height + 1) / 2;
    const uint64_t lumaSize = uint64_t{stride} * rows;
    copyPlane(lumaSize, stride / 2, visible.left / 2, visible.top / 2, cw, ch);
    copyPlane(lumaSize + lumaSize / 4, stride / 2, visible.left / 2, visible.top / 2, cw, ch);
    uint8_t digest[16];
    av_md5_sum(digest, bytes.data(), static_cast<int>(bytes.size()));
    static const char* kHex = "0123456789abcdef";
    std::string hex;
    for (uint8_t b : digest) {
      hex += kHex[b >> 4];
      hex += kHex[b & 15];
    }
    return hex;
  }
};

// The clip's input units: Annex-B streams cut every kChunk bytes, IVF files one frame each.
std::vector<std::vector<uint8_t>> inputUnits(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), {});
  std::vector<std::vector<uint8_t>> units;
  if (path.ends_with(".ivf")) {
    for (size_t at = 32; at + 12 <= bytes.size();) {
      uint32_t size = 0;
      std::memcpy(&size, bytes.data() + at, sizeof(size));
      at += 12;
      if (at + size > bytes.size()) break;
      units.emplace_back(bytes.begin() + at, bytes.begin() + at + size);
      at += size;
    }
    return units;
  }
  for (size_t at = 0; at < bytes.size(); at += kChunk) {
    units.emplace_back(bytes.begin() + at, bytes.begin() + std::min(bytes.size(), at + kChunk));
  }
  return units;
}

struct ClipCase {
  const char* clip;
  uint32_t fourcc;
};

// gtest would print the struct's bytes, padding included.
void PrintTo(const ClipCase& value, std::ostream* out) { *out << value.clip; }

class MediaFfmpegClipTest : public MediaFfmpegTest, public ::testing::WithParamInterface<ClipCase> {};

// The whole dev-decoder.rst sequence as a V4L2 client runs it: OUTPUT set up and streaming,
// CAPTURE set up on SOURCE_CHANGE (with CAPTURE running: once the LAST buffer of the old
// resolution is out), DQBUFs re-queued, DECODER_CMD(STOP) once all input is queued, until the
// LAST buffer and EOS.
TEST_P(MediaFfmpegClipTest, DecodesBitExactlyThroughTheV4l2Sequence) {
  if (!::vdec::testing::ClipFactory::unavailableReason().empty()) {
    GTEST_SKIP() << ::vdec::testing::ClipFactory::unavailableReason();
  }
  const auto& spec = ::vdec::testing::standardClip(GetParam().clip);
  auto clip = ::vdec::testing::ClipFactory().generate(spec);
  ASSERT_TRUE(clip.has_value()) << clip.error().message;
  const auto units = inputUnits(clip->path);
  ASSERT_FALSE(units.empty());

  const uint32_t session = open();
  ASSERT_EQ(setFormat(session, kOut, GetParam().fourcc, spec.segments[0].width,
                      spec.segments[0].height)
                .status,
            0u);
  ASSERT_EQ(setFormat(session, kCap, V4L2_PIX_FMT_YUV420).status, 0u);
  ASSERT_EQ(subscribe(session, V4L2_EVENT_SOURCE_CHANGE).status, 0u);
  ASSERT_EQ(subscribe(session, V4L2_EVENT_EOS).status, 0u);
  ASSERT_EQ(reqbufs(session, kOut, kInputs).status, 0u);
  ASSERT_EQ(streamOn(session, kOut).status, 0u);

  std::set<uint32_t> freeInputs{0, 1, 2, 3};
  size_t next = 0;
  bool stopped = false;
  bool captureStreaming = false;
  bool reconfigure = false;  // SOURCE_CHANGE seen, waiting for the LAST buffer
  bool ended = false;
  v4l2_format capture{};
  v4l2_rect visible{};
  std::vector<std::string> md5s;
  int idleRounds = 0;
  while (!ended && idleRounds < 200) {
    while (next < units.size() && !freeInputs.empty()) {
      const uint32_t index = *freeInputs.begin();
      freeInputs.erase(freeInputs.begin());
      ASSERT_EQ(qbufInput(session, index, units[next], static_cast<int64_t>(next)).status, 0u);
      ++next;
    }
    if (next == units.size() && !stopped) {
      ASSERT_EQ(decoderCommand(session, V4L2_DEC_CMD_STOP).status, 0u);
      stopped = true;
    }
    pollfd fd{device_->notifyFd(), POLLIN, 0};
    if (::poll(&fd, 1, 100) <= 0) {
      ++idleRounds;
      continue;
    }
    pump();
    for (const Event& event : takeEvents()) {
      ASSERT_NE(event.type, w::VIRTIO_MEDIA_EVT_ERROR);
      if (event.type == w::VIRTIO_MEDIA_EVT_EVENT) {
        if (event.event.type == uint32_t{V4L2_EVENT_EOS}) {
          ended = true;
          continue;
        }
        ASSERT_EQ(event.event.type, uint32_t{V4L2_EVENT_SOURCE_CHANGE});
        // With CAPTURE running, its pictures go on until the LAST buffer; set up after that.
        if (captureStreaming) {
          reconfigure = true;
          continue;
        }
      }
      if (event.type == w::VIRTIO_MEDIA_EVT_EVENT ||
          (reconfigure && (event.dqbuf.buffer.flags & V4L2_BUF_FLAG_LAST))) {
        if (reconfigure) {
          EXPECT_EQ(event.dqbuf.planes[0].bytesused, 0u);
          ASSERT_EQ(streamOn(session, kCap, false).status, 0u);
          ASSERT_EQ(reqbufs(session, kCap, 0).status, 0u);
          reconfigure = false;
        }
        capture = getFormat(session, kCap).as<v4l2_format>();
        ASSERT_EQ(capture.fmt.pix_mp.pixelformat, uint32_t{V4L2_PIX_FMT_YUV420});
        v4l2_selection sel{};
        sel.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        sel.target = V4L2_SEL_TGT_COMPOSE;
        visible = ioctlOf(session, 94, sel).as<v4l2_selection>().r;
        v4l2_control min{V4L2_CID_MIN_BUFFERS_FOR_CAPTURE, 0};
        const auto count =
            static_cast<uint32_t>(ioctlOf(session, 27, min).as<v4l2_control>().value) + 2;
        ASSERT_EQ(reqbufs(session, kCap, count).status, 0u);
        for (uint32_t i = 0; i < count; ++i) ASSERT_EQ(qbufCapture(session, i).status, 0u);
        ASSERT_EQ(streamOn(session, kCap).status, 0u);
        captureStreaming = true;
        continue;
      }
      const auto& buffer = event.dqbuf.buffer;
      if (buffer.type == kOut) {
        freeInputs.insert(buffer.index);
        continue;
      }
      if (buffer.flags & V4L2_BUF_FLAG_LAST) {
        EXPECT_EQ(event.dqbuf.planes[0].bytesused, 0u);
        continue;  // the drain: EOS follows
      }
      EXPECT_FALSE(buffer.flags & V4L2_BUF_FLAG_ERROR);
      EXPECT_EQ(event.dqbuf.planes[0].bytesused, capture.fmt.pix_mp.plane_fmt[0].sizeimage);
      md5s.push_back(visibleMd5(kCaptureBase + uint64_t{buffer.index} * kCaptureLength, capture,
                                visible));
      ASSERT_EQ(qbufCapture(session, buffer.index).status, 0u);
    }
  }
  ASSERT_TRUE(ended) << "no EOS after " << md5s.size() << " pictures";
  EXPECT_EQ(md5s, clip->frameMd5s) << spec.note;
  EXPECT_EQ(device_->statistics().frames, clip->frameMd5s.size());
  if (std::string_view(GetParam().clip) == "h264_high_bpyramid_176x144") {
    EXPECT_EQ(device_->statistics().bytesCopied, 0u) << "I420 into guest pages, decoded in place";
  }
  close(session);
}

INSTANTIATE_TEST_SUITE_P(
    Clips, MediaFfmpegClipTest,
    ::testing::Values(ClipCase{"h264_high_bpyramid_176x144", V4L2_PIX_FMT_H264},
                      ClipCase{"h264_resolution_change_96x64_to_66x34", V4L2_PIX_FMT_H264},
                      ClipCase{"vp9_66x34_altref", V4L2_PIX_FMT_VP9}),
    [](const auto& info) { return std::string(info.param.clip); });

}  // namespace
}  // namespace vdec::media::testing
