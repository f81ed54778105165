// SPDX-License-Identifier: MIT
// Malformed virtio-media requests through the real daemon (`vdec-device --protocol media`):
// each is answered with the protocol's errno, the device keeps serving, and a good decode still
// works on the same connection afterwards.
#include <linux/videodev2.h>

#include <gtest/gtest.h>

#include "samples/harness/bitstream_reader.h"
#include "samples/harness/frame_sink.h"
#include "samples/harness/media_driver.h"
#include "samples/harness/media_request.h"
#include "samples/harness/media_session.h"
#include "samples/harness/media_stream_client.h"
#include "tests/clips/clip_factory.h"
#include "tests/integration/daemon_process.h"
#include "vdec/base/wire.h"

namespace vdec::testing {
namespace {

using harness::MediaChain;
using harness::MediaDriver;

class MediaMalformedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    harness::MediaDriverOptions options;
    options.socketPath = daemon_.socketPath();
    options.ramBytes = 256ull << 20;
    auto driver = MediaDriver::connect(options);
    ASSERT_TRUE(driver) << driver.error().message;
    driver_ = std::move(*driver);
  }

  // Sends `chain` and returns the status of its response header (or a test failure).
  uint32_t statusOf(const MediaChain& chain) {
    auto response = driver_->execute(chain);
    EXPECT_TRUE(response) << response.error().message;
    if (!response) return 0;
    auto header = readWire<wire::virtio_media_resp_header>(response->bytes);
    EXPECT_TRUE(header) << "response of " << response->usedLen << " bytes";
    return header ? header->status : 0;
  }

  MediaChain ioctl(uint32_t session, uint32_t code, size_t readable, size_t writable) {
    MediaChain chain;
    chain.readable.push_back(toBytes(
        wire::virtio_media_cmd_ioctl{{wire::VIRTIO_MEDIA_CMD_IOCTL, 0}, session, code}));
    chain.readable.emplace_back(readable);
    chain.writable = {sizeof(wire::virtio_media_resp_ioctl), writable};
    return chain;
  }

  // A good decode on the same connection: the device still serves it bit-exactly.
  void expectGoodDecode() {
    if (!ClipFactory::unavailableReason().empty()) return;
    auto clip = ClipFactory().generate(standardClip("h264_baseline_66x34"));
    ASSERT_TRUE(clip) << clip.error().message;
    auto input = harness::BitstreamReader::open(clip->path, {});
    ASSERT_TRUE(input) << input.error().message;
    auto sink = harness::FrameSink::create({});
    ASSERT_TRUE(sink);
    harness::DecodeOptions options;
    options.memory = harness::OutputMemory::kScattered;
    auto summary = harness::MediaStreamClient(*driver_, options).run(*input, *sink);
    ASSERT_TRUE(summary) << summary.error().message;
    EXPECT_EQ(sink->frameMd5s(), clip->frameMd5s);
    EXPECT_TRUE(summary->gotEos);
  }

  DaemonProcess daemon_{{"--protocol", "media"}};
  std::unique_ptr<MediaDriver> driver_;
};

TEST_F(MediaMalformedTest, BadRequestsAreAnsweredAndTheConnectionStaysUsable) {
  auto session = driver_->open();
  ASSERT_TRUE(session) << session.error().message;
  // QUERYCAP (0) is replaced by the config space, DQBUF (17) by the eventq; 250 does not exist.
  for (uint32_t code : {0u, 17u, 250u}) {
    EXPECT_EQ(statusOf(ioctl(*session, code, 0, 64)), static_cast<uint32_t>(ENOTTY)) << code;
  }
  // G_FMT with a short payload, and one byte too many.
  EXPECT_EQ(statusOf(ioctl(*session, 4, 100, 208)), static_cast<uint32_t>(EINVAL));
  EXPECT_EQ(statusOf(ioctl(*session, 4, 209, 209)), static_cast<uint32_t>(EINVAL));
  // STREAMON of an unknown session; OPEN with trailing bytes; an unknown command; a header cut
  // short.
  EXPECT_EQ(statusOf(ioctl(*session + 1000, 18, 4, 0)), static_cast<uint32_t>(EINVAL));
  MediaChain open;
  open.readable.push_back(toBytes(wire::virtio_media_cmd_open{{wire::VIRTIO_MEDIA_CMD_OPEN, 0}}));
  open.readable.emplace_back(4);
  open.writable = {sizeof(wire::virtio_media_resp_open)};
  EXPECT_EQ(statusOf(open), static_cast<uint32_t>(EINVAL));
  MediaChain unknown;
  unknown.readable.push_back(toBytes(wire::virtio_media_cmd_header{99, 0}));
  unknown.writable = {sizeof(wire::virtio_media_resp_header)};
  EXPECT_EQ(statusOf(unknown), static_cast<uint32_t>(ENOTTY));
  MediaChain cut;
  cut.readable.emplace_back(4);
  cut.writable = {sizeof(wire::virtio_media_resp_header)};
  EXPECT_EQ(statusOf(cut), static_cast<uint32_t>(EINVAL));
  // QBUF whose SG list stops short of the plane's length.
  harness::MediaBufferRequest qbuf;
  qbuf.buffer.type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
  qbuf.buffer.memory = V4L2_MEMORY_USERPTR;
  qbuf.buffer.length = 1;
  qbuf.planes.push_back({});
  qbuf.planes[0].length = 8192;
  qbuf.planes[0].m = 1;
  qbuf.sharedPages.push_back({});
  EXPECT_EQ(statusOf(harness::bufferIoctlChain(*session, 15, qbuf)),
            static_cast<uint32_t>(EINVAL));
  // MMAP buffers need a shared memory region the device does not have.
  harness::MediaSession typed(*driver_, *session);
  EXPECT_FALSE(typed.reqbufs(V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE, V4L2_MEMORY_MMAP, 2));
  EXPECT_EQ(typed.lastErrno(), static_cast<uint32_t>(EINVAL));
  // CLOSE of an unknown session is ignored; then the real one.
  EXPECT_TRUE(driver_->close(*session + 1000));
  EXPECT_TRUE(driver_->close(*session));
  EXPECT_TRUE(daemon_.running());
  expectGoodDecode();
}

}  // namespace
}  // namespace vdec::testing
