// SPDX-License-Identifier: MIT
// MediaSession: one open virtio-media session with typed V4L2 ioctls, as user space calls them
// on the guest's video node (the payloads are the kernel's own structs from <linux/videodev2.h>:
// on a 64-bit little-endian host they are the wire layout).
#pragma once

#include <linux/videodev2.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "samples/harness/media_driver.h"
#include "samples/harness/media_request.h"
#include "vdec/base/result.h"

namespace vdec::harness {

// The _IOC_NR of the VIDIOC_* ioctls the client sends (virtio_media_cmd_ioctl.code).
inline constexpr uint32_t ioctlCode(unsigned long request) { return _IOC_NR(request); }

// Borrows the driver. A failed ioctl returns an error whose code follows errorCodeForErrno and
// whose message names the ioctl and the errno; lastErrno() keeps the errno.
class MediaSession {
 public:
  MediaSession(MediaDriver& driver, uint32_t id) : driver_(driver), id_(id) {}

  uint32_t id() const { return id_; }
  MediaDriver& driver() { return driver_; }
  uint32_t lastErrno() const { return lastErrno_; }

  // Any fixed-size ioctl: sends `payload` and, for ioctls that write back, copies the answer
  // into it (also on failure, when the device wrote it).
  Status fixedIoctl(unsigned long request, std::span<std::byte> payload, bool writesBack = true);

  // ENUM_FMT: the index-th format of the queue `type`; EINVAL past the end.
  Result<v4l2_fmtdesc> enumFmt(uint32_t type, uint32_t index);
  Result<v4l2_format> gFmt(uint32_t type);
  Status sFmt(v4l2_format& format);
  Result<v4l2_requestbuffers> reqbufs(uint32_t type, uint32_t memory, uint32_t count);
  // QBUF: on success the device's copy of the buffer (and planes) comes back in `request`.
  Status qbuf(MediaBufferRequest& request);
  Status streamOn(uint32_t type);
  Status streamOff(uint32_t type);
  Status subscribe(uint32_t eventType);
  Status decoderCmd(uint32_t cmd);
  Result<v4l2_rect> gSelection(uint32_t type, uint32_t target);
  Result<int32_t> gCtrl(uint32_t id);

  // Events of this session (DQBUF, EVENT, ERROR), waiting up to `timeout` for one.
  Result<std::vector<MediaEvent>> waitEvents(std::chrono::milliseconds timeout) {
    return driver_.waitEvents(id_, timeout);
  }

 private:
  template <typename T>
  Status ioctlOn(unsigned long request, T& value, bool writesBack = true) {
    return fixedIoctl(request, std::as_writable_bytes(std::span(&value, 1)), writesBack);
  }

  MediaDriver& driver_;
  uint32_t id_;
  uint32_t lastErrno_ = 0;
};

// Opens a session, lists the ENUM_FMT formats of both queues ("OUTPUT (coded) formats:" then
// "  H264 description" lines, the same for CAPTURE) and closes it.
Result<std::string> describeMediaFormats(MediaDriver& driver);

}  // namespace vdec::harness
