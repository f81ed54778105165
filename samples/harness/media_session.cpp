// SPDX-License-Identifier: MIT
// MediaSession: typed V4L2 ioctls over one virtio-media session.
#include "samples/harness/media_session.h"

#include <cstring>

#include "vdec/base/wire.h"

namespace vdec::harness {
namespace {

static_assert(sizeof(v4l2_format) == 208, "the 64-bit layout is the wire layout");
static_assert(sizeof(v4l2_requestbuffers) == 20);
static_assert(sizeof(v4l2_event_subscription) == 32);
static_assert(sizeof(v4l2_selection) == 64);
static_assert(sizeof(v4l2_control) == 8);
static_assert(sizeof(v4l2_fmtdesc) == 64);
static_assert(sizeof(v4l2_decoder_cmd) == 72);

const char* ioctlName(unsigned long request) {
  switch (request) {
    case VIDIOC_ENUM_FMT: return "VIDIOC_ENUM_FMT";
    case VIDIOC_G_FMT: return "VIDIOC_G_FMT";
    case VIDIOC_S_FMT: return "VIDIOC_S_FMT";
    case VIDIOC_REQBUFS: return "VIDIOC_REQBUFS";
    case VIDIOC_QBUF: return "VIDIOC_QBUF";
    case VIDIOC_STREAMON: return "VIDIOC_STREAMON";
    case VIDIOC_STREAMOFF: return "VIDIOC_STREAMOFF";
    case VIDIOC_SUBSCRIBE_EVENT: return "VIDIOC_SUBSCRIBE_EVENT";
    case VIDIOC_DECODER_CMD: return "VIDIOC_DECODER_CMD";
    case VIDIOC_G_SELECTION: return "VIDIOC_G_SELECTION";
    case VIDIOC_G_CTRL: return "VIDIOC_G_CTRL";
    default: return "VIDIOC_?";
  }
}

}  // namespace

Status MediaSession::fixedIoctl(unsigned long request, std::span<std::byte> payload,
                                bool writesBack) {
  const MediaChain chain = fixedIoctlChain(id_, ioctlCode(request), payload, writesBack);
  VDEC_ASSIGN_OR_RETURN(auto response, driver_.execute(chain));
  VDEC_ASSIGN_OR_RETURN(auto reply, parseIoctlReply(response));
  lastErrno_ = reply.status;
  // "Only the header" means "payload unchanged" to the driver.
  if (writesBack && reply.payload.size() >= payload.size())
    std::memcpy(payload.data(), reply.payload.data(), payload.size());
  if (reply.status != 0)
    return makeError(errorCodeForErrno(reply.status), "{} (session {}): {}", ioctlName(request),
                     id_, errnoName(reply.status));
  if (writesBack && reply.payload.size() < payload.size())
    return makeError(ErrorCode::kBackendFailure, "{} (session {}): {} payload bytes, expected {}",
                     ioctlName(request), id_, reply.payload.size(), payload.size());
  return okStatus();
}

Result<v4l2_fmtdesc> MediaSession::enumFmt(uint32_t type, uint32_t index) {
  v4l2_fmtdesc desc{};
  desc.type = type;
  desc.index = index;
  VDEC_TRY(ioctlOn(VIDIOC_ENUM_FMT, desc));
  return desc;
}

Result<v4l2_format> MediaSession::gFmt(uint32_t type) {
  v4l2_format format{};
  format.type = type;
  VDEC_TRY(ioctlOn(VIDIOC_G_FMT, format));
  return format;
}

Status MediaSession::sFmt(v4l2_format& format) { return ioctlOn(VIDIOC_S_FMT, format); }

Result<v4l2_requestbuffers> MediaSession::reqbufs(uint32_t type, uint32_t memory, uint32_t count) {
  v4l2_requestbuffers request{};
  request.type = type;
  request.memory = memory;
  request.count = count;
  VDEC_TRY(ioctlOn(VIDIOC_REQBUFS, request));
  return request;
}

Status MediaSession::qbuf(MediaBufferRequest& request) {
  const MediaChain chain = bufferIoctlChain(id_, ioctlCode(VIDIOC_QBUF), request);
  VDEC_ASSIGN_OR_RETURN(auto response, driver_.execute(chain));
  VDEC_ASSIGN_OR_RETURN(auto reply, parseIoctlReply(response));
  lastErrno_ = reply.status;
  if (reply.status != 0)
    return makeError(errorCodeForErrno(reply.status), "VIDIOC_QBUF (session {}, type {}, index "
                     "{}): {}", id_, request.buffer.type, request.buffer.index,
                     errnoName(reply.status));
  // The pointers the driver sent stay as they were (the device returns them unchanged).
  const uint64_t m = request.buffer.m;
  VDEC_ASSIGN_OR_RETURN(request.buffer, readWire<wire::v4l2_buffer>(reply.payload));
  request.buffer.m = m;
  for (size_t p = 0; p < request.planes.size(); ++p) {
    const uint64_t planeM = request.planes[p].m;
    VDEC_ASSIGN_OR_RETURN(request.planes[p],
                          readWire<wire::v4l2_plane>(reply.payload, sizeof(wire::v4l2_buffer) +
                                                                        p * sizeof(wire::v4l2_plane)));
    request.planes[p].m = planeM;
  }
  return okStatus();
}

Status MediaSession::streamOn(uint32_t type) {
  int value = static_cast<int>(type);
  return ioctlOn(VIDIOC_STREAMON, value, false);
}

Status MediaSession::streamOff(uint32_t type) {
  int value = static_cast<int>(type);
  return ioctlOn(VIDIOC_STREAMOFF, value, false);
}

Status MediaSession::subscribe(uint32_t eventType) {
  v4l2_event_subscription subscription{};
  subscription.type = eventType;
  return ioctlOn(VIDIOC_SUBSCRIBE_EVENT, subscription, false);
}

Status MediaSession::decoderCmd(uint32_t cmd) {
  v4l2_decoder_cmd command{};
  command.cmd = cmd;
  return ioctlOn(VIDIOC_DECODER_CMD, command);
}

Result<v4l2_rect> MediaSession::gSelection(uint32_t type, uint32_t target) {
  v4l2_selection selection{};
  selection.type = type;
  selection.target = target;
  VDEC_TRY(ioctlOn(VIDIOC_G_SELECTION, selection));
  return selection.r;
}

Result<int32_t> MediaSession::gCtrl(uint32_t id) {
  v4l2_control control{};
  control.id = id;
  VDEC_TRY(ioctlOn(VIDIOC_G_CTRL, control));
  return control.value;
}

Result<std::string> describeMediaFormats(MediaDriver& driver) {
  VDEC_ASSIGN_OR_RETURN(uint32_t id, driver.open());
  MediaSession session(driver, id);
  std::string text;
  for (uint32_t type : {V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE}) {
    text += type == V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE ? "OUTPUT (coded) formats:\n"
                                                      : "CAPTURE (raw) formats:\n";
    for (uint32_t index = 0; index < 64; ++index) {
      auto desc = session.enumFmt(type, index);
      if (!desc) break;  // EINVAL past the last one
      const uint32_t f = desc->pixelformat;
      const char* name = reinterpret_cast<const char*>(desc->description);
      text += fmt::format("  {:c}{:c}{:c}{:c} {}\n", char(f & 0xff), char((f >> 8) & 0xff),
                          char((f >> 16) & 0xff), char(f >> 24),
                          std::string_view(name, strnlen(name, sizeof(desc->description))));
    }
  }
  VDEC_TRY(driver.close(id));
  return text;
}

}  // namespace vdec::harness
