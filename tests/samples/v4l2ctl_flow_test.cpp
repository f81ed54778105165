// SPDX-License-Identifier: MIT
// V4l2CtlFlow: the decisions of v4l2-ctl 1.22 and the ARCVM guest driver
// (../shared/reference/guest-driver.md §2, §4, §8, second §9), and the client's buffer chunks.
#include "samples/harness/v4l2ctl_flow.h"

#include <gtest/gtest.h>

#include "samples/harness/bitstream_reader.h"
#include "tests/clips/clip_factory.h"
#include "tests/test_paths.h"
#include "vdec/protocol/virtio_video.h"

namespace vdec::harness {
namespace {

using Capture = V4l2CtlFlow::Capture;
using Ending = V4l2CtlFlow::Ending;
using GuestState = V4l2CtlFlow::GuestState;
using Next = V4l2CtlFlow::Next;
using std::chrono::milliseconds;

constexpr uint32_t kErr = wire::VIRTIO_VIDEO_BUFFER_FLAG_ERR;
constexpr uint32_t kEos = wire::VIRTIO_VIDEO_BUFFER_FLAG_EOS;
const V4l2CtlFlow::Clock::time_point kStart{};

// The flow up to a first capture_setup: RESOLUTION_CHANGED, SOURCE_CHANGE, capture_setup.
void setUpCapture(V4l2CtlFlow& flow) {
  flow.resolutionChanged();
  flow.sourceChangeEvent();
  ASSERT_EQ(flow.endOfIteration(), Next::kCaptureSetup);
  flow.captureStreaming();
}

TEST(V4l2CtlFlow, InputGoesOutAtOnceInInit) {
  V4l2CtlFlow flow(kStart);
  EXPECT_EQ(flow.guestState(), GuestState::kInit);
  EXPECT_TRUE(flow.inputGoesOut());
  EXPECT_TRUE(flow.writing());
  EXPECT_EQ(flow.endOfIteration(), Next::kContinue);
}

TEST(V4l2CtlFlow, StopBeforeCaptureStreamsIsDropped) {
  V4l2CtlFlow flow(kStart);
  EXPECT_FALSE(flow.stop());
  EXPECT_TRUE(flow.stopSent());
  EXPECT_TRUE(flow.stopDropped());
  EXPECT_FALSE(flow.writing());
  EXPECT_EQ(flow.guestState(), GuestState::kInit);  // no DRAIN: nothing was sent
  // Also between RESOLUTION_CHANGED and STREAMON(CAPTURE).
  V4l2CtlFlow metadata(kStart);
  metadata.resolutionChanged();
  EXPECT_FALSE(metadata.stop());
  EXPECT_TRUE(metadata.stopDropped());
}

TEST(V4l2CtlFlow, StopWhileCaptureStreamsBecomesADrain) {
  V4l2CtlFlow flow(kStart);
  setUpCapture(flow);
  EXPECT_TRUE(flow.stop());
  EXPECT_TRUE(flow.stopSent());
  EXPECT_FALSE(flow.stopDropped());
  EXPECT_EQ(flow.guestState(), GuestState::kDrain);
  EXPECT_FALSE(flow.inputGoesOut());  // the worker forwards no input while draining
  EXPECT_FALSE(flow.stop());          // EBUSY while in DRAIN
  EXPECT_FALSE(flow.stopDropped());   // the first one went out
}

TEST(V4l2CtlFlow, ResolutionChangeHoldsInputUntilCaptureStreams) {
  V4l2CtlFlow flow(kStart);
  flow.resolutionChanged();
  EXPECT_EQ(flow.guestState(), GuestState::kMetadata);
  EXPECT_FALSE(flow.inputGoesOut());
  EXPECT_TRUE(flow.writing());  // the client still refills; the driver holds the buffers
  flow.sourceChangeEvent();
  EXPECT_EQ(flow.endOfIteration(), Next::kCaptureSetup);
  flow.captureStreaming();
  EXPECT_EQ(flow.guestState(), GuestState::kRunning);
  EXPECT_TRUE(flow.inputGoesOut());
  EXPECT_EQ(flow.endOfIteration(), Next::kContinue);  // one capture_setup per source change
}

TEST(V4l2CtlFlow, SecondResolutionChangeWhileRunningKeepsTheState) {
  V4l2CtlFlow flow(kStart);
  setUpCapture(flow);
  flow.resolutionChanged();
  EXPECT_EQ(flow.guestState(), GuestState::kRunning);
  EXPECT_TRUE(flow.inputGoesOut());
}

TEST(V4l2CtlFlow, SourceChangeWhileStreamingWaitsForTheLastBuffer) {
  V4l2CtlFlow flow(kStart);
  setUpCapture(flow);
  flow.resolutionChanged();
  flow.sourceChangeEvent();
  EXPECT_EQ(flow.endOfIteration(), Next::kContinue);
  EXPECT_EQ(flow.captureDone(0, 1000), Capture::kFrame);
  EXPECT_EQ(flow.endOfIteration(), Next::kContinue);
  EXPECT_EQ(flow.captureDone(kEos, 1000), Capture::kLast);
  flow.eosEvent();
  EXPECT_FALSE(flow.writing());  // v4l2-ctl stops writing on the EOS event
  EXPECT_EQ(flow.guestState(), GuestState::kStopped);
  EXPECT_FALSE(flow.inputGoesOut());
  EXPECT_EQ(flow.endOfIteration(), Next::kCaptureSetup);
  flow.captureStreaming();
  EXPECT_EQ(flow.guestState(), GuestState::kRunning);
  EXPECT_EQ(flow.ending(), Ending::kRunning);
}

TEST(V4l2CtlFlow, LastBufferEndsTheClient) {
  V4l2CtlFlow flow(kStart);
  setUpCapture(flow);
  ASSERT_TRUE(flow.stop());
  EXPECT_EQ(flow.captureDone(kEos, 1000), Capture::kLast);
  EXPECT_TRUE(flow.lastBufferSeen());
  EXPECT_EQ(flow.endOfIteration(), Next::kExit);
  EXPECT_EQ(flow.ending(), Ending::kLastBuffer);
}

TEST(V4l2CtlFlow, CaptureBuffersWithErrorOrNoBytesAreSkipped) {
  V4l2CtlFlow flow(kStart);
  setUpCapture(flow);
  EXPECT_EQ(flow.captureDone(0, 38016), Capture::kFrame);
  EXPECT_EQ(flow.captureDone(kErr, 38016), Capture::kSkip);
  EXPECT_EQ(flow.captureDone(0, 0), Capture::kSkip);  // bytesused 0
  EXPECT_EQ(flow.captureDone(kEos | kErr, 38016), Capture::kLast);
  EXPECT_EQ(flow.guestState(), GuestState::kStopped);  // EOS moves the driver to STOPPED
}

TEST(V4l2CtlFlow, SelectTimesOutAfterTwoSecondsBeforeStop) {
  V4l2CtlFlow flow(kStart);
  EXPECT_EQ(flow.deadline(), kStart + milliseconds(2000));
  flow.activity(kStart + milliseconds(300));
  EXPECT_EQ(flow.deadline(), kStart + milliseconds(2300));
  flow.timedOut();
  EXPECT_EQ(flow.ending(), Ending::kSelectTimeout);
}

TEST(V4l2CtlFlow, LeavesHalfASecondAfterTheLastActivityOnceStopWasSent) {
  V4l2CtlFlow flow(kStart);
  flow.stop();  // dropped or not, v4l2-ctl sent it
  EXPECT_EQ(flow.deadline(), kStart + milliseconds(500));
  flow.activity(kStart + milliseconds(700));
  EXPECT_EQ(flow.deadline(), kStart + milliseconds(1200));
  flow.timedOut();
  EXPECT_EQ(flow.ending(), Ending::kIdleAfterStop);
  EXPECT_EQ(V4l2CtlFlow::endingName(flow.ending()), "0.5 s idle after STOP");
}

TEST(V4l2CtlFlow, ErrorEventEndsTheClient) {
  V4l2CtlFlow flow(kStart);
  setUpCapture(flow);
  flow.errorEvent();
  EXPECT_EQ(flow.endOfIteration(), Next::kExit);
  EXPECT_EQ(flow.ending(), Ending::kErrorEvent);
}

// --- What the client puts in its buffers ---

TEST(V4l2CtlChunks, ByteStreamIsCutIntoFullBuffersAndAShortLastOne) {
  const std::string path = testing::samplesDir() + "/data/testsrc2-320x180.h264";
  auto reader = BitstreamReader::open(path, {});
  ASSERT_TRUE(reader) << reader.error().message;
  const uint64_t total = reader->totalBytes();
  auto units = reader->unitsForBuffers(4096);
  ASSERT_TRUE(units) << units.error().message;
  ASSERT_EQ(units->size(), (total + 4095) / 4096);
  std::vector<std::byte> joined;
  for (size_t i = 0; i < units->size(); ++i) {
    const auto& data = (*units)[i].data;
    if (i + 1 < units->size()) {
      EXPECT_EQ(data.size(), 4096u) << "buffer " << i;
    } else {
      EXPECT_EQ(data.size(), total - 4096 * (units->size() - 1));
    }
    joined.insert(joined.end(), data.begin(), data.end());
  }
  std::vector<std::byte> original;
  for (const auto& unit : reader->units())
    original.insert(original.end(), unit.data.begin(), unit.data.end());
  EXPECT_EQ(joined, original);
  // A buffer larger than the file: one short buffer.
  auto whole = reader->unitsForBuffers(1 << 20);
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->size(), 1u);
  EXPECT_EQ(whole->front().data.size(), total);
  EXPECT_FALSE(reader->unitsForBuffers(0));
}

TEST(V4l2CtlChunks, FramesStayOnePerBuffer) {
  if (!testing::ClipFactory::unavailableReason().empty())
    GTEST_SKIP() << testing::ClipFactory::unavailableReason();
  auto clip = testing::ClipFactory().generate(testing::standardClip("vp8_66x34_altref"));
  ASSERT_TRUE(clip) << clip.error().message;
  auto reader = BitstreamReader::open(clip->path, {});
  ASSERT_TRUE(reader) << reader.error().message;
  ASSERT_FALSE(reader->isByteStream());
  auto units = reader->unitsForBuffers(1 << 20);
  ASSERT_TRUE(units) << units.error().message;
  ASSERT_EQ(units->size(), reader->units().size());
  for (size_t i = 0; i < units->size(); ++i) EXPECT_EQ((*units)[i].data, reader->units()[i].data);
  // A frame larger than the buffer cannot be sent (--stream-from-hdr would fail too).
  EXPECT_FALSE(reader->unitsForBuffers(reader->maxUnitSize() - 1));
}

}  // namespace
}  // namespace vdec::harness
