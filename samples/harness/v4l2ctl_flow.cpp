// SPDX-License-Identifier: MIT
// V4l2CtlFlow: v4l2-ctl's and the ARCVM guest driver's decisions during a decode.
#include "samples/harness/v4l2ctl_flow.h"

#include "vdec/protocol/virtio_video.h"

namespace vdec::harness {

void V4l2CtlFlow::resolutionChanged() {
  if (state_ == GuestState::kInit) state_ = GuestState::kMetadata;
}

V4l2CtlFlow::Capture V4l2CtlFlow::captureDone(uint32_t flags, uint64_t frameBytes) {
  if (flags & wire::VIRTIO_VIDEO_BUFFER_FLAG_EOS) {
    // LAST whatever ERR says (ERR only decides DONE versus ERROR); the payload is discarded.
    state_ = GuestState::kStopped;
    lastBuffer_ = true;
    lastSeen_ = true;
    return Capture::kLast;
  }
  if ((flags & wire::VIRTIO_VIDEO_BUFFER_FLAG_ERR) || frameBytes == 0) return Capture::kSkip;
  return Capture::kFrame;
}

bool V4l2CtlFlow::inputGoesOut() const {
  return state_ == GuestState::kInit || state_ == GuestState::kRunning;
}

bool V4l2CtlFlow::stop() {
  stopSent_ = true;
  writing_ = false;
  // dec.c: STOP needs both queues streaming (OUTPUT always does here); EBUSY while draining.
  if (!captureStreaming_ || state_ == GuestState::kDrain) return false;
  state_ = GuestState::kDrain;
  drainSent_ = true;
  return true;
}

void V4l2CtlFlow::sourceChangeEvent() {
  sourceChangePending_ = true;
  // "if capture is not streaming, the driver will not send a last buffer so we set it here"
  if (!captureStreaming_) lastBuffer_ = true;
}

void V4l2CtlFlow::errorEvent() { failed_ = true; }

V4l2CtlFlow::Next V4l2CtlFlow::endOfIteration() {
  if (failed_) {
    ending_ = Ending::kErrorEvent;
    return Next::kExit;
  }
  if (!lastBuffer_) return Next::kContinue;
  if (sourceChangePending_) {
    sourceChangePending_ = false;
    lastBuffer_ = false;
    return Next::kCaptureSetup;
  }
  ending_ = Ending::kLastBuffer;
  return Next::kExit;
}

void V4l2CtlFlow::captureStreaming() {
  captureStreaming_ = true;
  // STREAMON(CAPTURE) moves any state from INIT on to RUNNING; the m2m worker then sends the
  // CAPTURE buffers and every OUTPUT buffer the guest held.
  state_ = GuestState::kRunning;
}

V4l2CtlFlow::Clock::time_point V4l2CtlFlow::deadline() const {
  return lastActivity_ + (stopSent_ ? kSelectTimeoutAfterStop : kSelectTimeout);
}

void V4l2CtlFlow::timedOut() {
  ending_ = stopSent_ ? Ending::kIdleAfterStop : Ending::kSelectTimeout;
}

std::string_view V4l2CtlFlow::guestStateName(GuestState state) {
  switch (state) {
    case GuestState::kInit:
      return "INIT";
    case GuestState::kMetadata:
      return "METADATA";
    case GuestState::kRunning:
      return "RUNNING";
    case GuestState::kDrain:
      return "DRAIN";
    case GuestState::kStopped:
      return "STOPPED";
  }
  return "?";
}

std::string_view V4l2CtlFlow::endingName(Ending ending) {
  switch (ending) {
    case Ending::kRunning:
      return "running";
    case Ending::kLastBuffer:
      return "LAST buffer";
    case Ending::kIdleAfterStop:
      return "0.5 s idle after STOP";
    case Ending::kSelectTimeout:
      return "2 s select timeout before STOP";
    case Ending::kErrorEvent:
      return "error event";
  }
  return "?";
}

}  // namespace vdec::harness
