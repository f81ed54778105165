// SPDX-License-Identifier: MIT
// MediaSession: formats (ENUM_FMT, G/S/TRY_FMT, ENUM_FRAMESIZES), selection, controls, event
// subscriptions and stream parameters.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "codecs/codec_profile.h"
#include "vdec/base/logging.h"
#include "vdec/base/wire.h"
#include "vdec/media/media_session.h"
#include "vdec/media/media_session_payload.h"
#include "vdec/media/v4l2_ioctl_table.h"

namespace vdec::media {
namespace {

// Every fixed payload the session reads is exactly the kernel struct (64-bit layout).
bool sizeIs(uint32_t code, size_t size) {
  return findV4l2Ioctl(code) == nullptr || findV4l2Ioctl(code)->payloadSize == size;
}
struct SizeCheck {
  SizeCheck() {
    VDEC_CHECK(sizeIs(2, sizeof(v4l2_fmtdesc)) && sizeIs(4, sizeof(v4l2_format)) &&
               sizeIs(8, sizeof(v4l2_requestbuffers)) && sizeIs(21, sizeof(v4l2_streamparm)) &&
               sizeIs(27, sizeof(v4l2_control)) && sizeIs(36, sizeof(v4l2_queryctrl)) &&
               sizeIs(37, sizeof(v4l2_querymenu)) && sizeIs(74, sizeof(v4l2_frmsizeenum)) &&
               sizeIs(90, sizeof(v4l2_event_subscription)) &&
               sizeIs(92, sizeof(v4l2_create_buffers)) && sizeIs(94, sizeof(v4l2_selection)) &&
               sizeIs(96, sizeof(v4l2_decoder_cmd)) && sizeIs(103, sizeof(v4l2_query_ext_ctrl)));
  }
};
static_assert(sizeof(v4l2_format) == 208 && sizeof(v4l2_create_buffers) == 256 &&
                  sizeof(v4l2_query_ext_ctrl) == 232 && sizeof(v4l2_decoder_cmd) == 72,
              "the daemon needs the 64-bit V4L2 layout");

constexpr uint32_t kDefaultSizeImage = 1u << 20;
constexpr uint32_t kMinSizeImage = 4096;

struct ProfileControl {
  codecs::CodedFormat format;
  uint32_t id;
  const char* name;
};
constexpr ProfileControl kProfileControls[] = {
    {codecs::CodedFormat::kH264, V4L2_CID_MPEG_VIDEO_H264_PROFILE, "H264 Profile"},
    {codecs::CodedFormat::kHevc, V4L2_CID_MPEG_VIDEO_HEVC_PROFILE, "HEVC Profile"},
    {codecs::CodedFormat::kVp8, V4L2_CID_MPEG_VIDEO_VP8_PROFILE, "VP8 Profile"},
    {codecs::CodedFormat::kVp9, V4L2_CID_MPEG_VIDEO_VP9_PROFILE, "VP9 Profile"},
};

// The statistics controls (StreamStatistics::control): read-only volatile integers.
struct StatisticsControl {
  uint32_t id;
  const char* name;
};
constexpr StatisticsControl kStatisticsControls[] = {
    {wire::VDEC_CONTROL_STATS_FRAMES, "vdec Frames"},
    {wire::VDEC_CONTROL_STATS_BYTES_COPIED_PER_FRAME, "vdec Bytes Copied per Frame"},
    {wire::VDEC_CONTROL_STATS_DIRECT_FRAMES, "vdec Direct Frames"},
    {wire::VDEC_CONTROL_STATS_BOUNCE_FRAMES, "vdec Bounce Frames"},
    {wire::VDEC_CONTROL_STATS_ERROR_FRAMES, "vdec Error Frames"},
};

// The V4L2 menu index of a profile, or -1 if V4L2 has none for it.
int menuIndex(codecs::CodecProfile profile) {
  using P = codecs::CodecProfile;
  switch (profile) {
    case P::kH264Baseline: return V4L2_MPEG_VIDEO_H264_PROFILE_BASELINE;
    case P::kH264Main: return V4L2_MPEG_VIDEO_H264_PROFILE_MAIN;
    case P::kH264Extended: return V4L2_MPEG_VIDEO_H264_PROFILE_EXTENDED;
    case P::kH264High: return V4L2_MPEG_VIDEO_H264_PROFILE_HIGH;
    case P::kHevcMain: return V4L2_MPEG_VIDEO_HEVC_PROFILE_MAIN;
    case P::kHevcMainStillPicture: return V4L2_MPEG_VIDEO_HEVC_PROFILE_MAIN_STILL_PICTURE;
    case P::kHevcMain10: return V4L2_MPEG_VIDEO_HEVC_PROFILE_MAIN_10;
    case P::kVp8Profile0: case P::kVp9Profile0: return 0;
    case P::kVp8Profile1: case P::kVp9Profile1: return 1;
    case P::kVp8Profile2: case P::kVp9Profile2: return 2;
    case P::kVp8Profile3: case P::kVp9Profile3: return 3;
    default: return -1;
  }
}

// Menu indices the backend decodes for the control's codec (empty: not offered).
std::vector<int> profileMenu(const codecs::DecoderBackend& backend, uint32_t id,
                             const char** name) {
  std::vector<int> indices;
  for (const auto& control : kProfileControls) {
    if (control.id != id) continue;
    for (const auto& codec : backend.capabilities()) {
      if (codec.format != control.format) continue;
      for (auto profile : codec.profiles) {
        if (int index = menuIndex(profile); index >= 0) indices.push_back(index);
      }
    }
    if (name) *name = control.name;
  }
  std::sort(indices.begin(), indices.end());
  indices.erase(std::unique(indices.begin(), indices.end()), indices.end());
  return indices;
}

}  // namespace

uint32_t MediaSession::minCaptureBuffers() const {
  const uint32_t wanted = streamFormat_ ? streamFormat_->minBuffers : ctx_.config.openTimeMinBuffers;
  return std::clamp(wanted, 1u, kMaxBuffers);
}

// As Stream::recomputeOutputParams(): what the decoder needs to write straight into the buffers.
buffers::FrameLayout MediaSession::captureLayout() const {
  uint32_t width = streamFormat_ ? streamFormat_->codedWidth : coded_.width;
  uint32_t height = streamFormat_ ? streamFormat_->codedHeight : coded_.height;
  buffers::Rect visible = streamFormat_ ? streamFormat_->visible : buffers::Rect{0, 0, width, height};
  uint32_t strideAlign = 64;
  if (streamFormat_) {
    strideAlign = std::max(strideAlign, streamFormat_->strideAlign);
    height = static_cast<uint32_t>(std::min<uint64_t>(
        alignUp(height, std::max(streamFormat_->heightAlign, 2u)) + streamFormat_->extraRows,
        UINT32_MAX));
  }
  auto layout = buffers::computeFrameLayout(pixelFormat_, width, height, visible, strideAlign);
  if (!layout) layout = buffers::computeFrameLayout(pixelFormat_, 640, 480, {0, 0, 640, 480});
  return *layout;
}

IoctlReply MediaSession::enumFormat(const std::vector<std::byte>& payload) {
  static const SizeCheck kChecked;
  auto desc = fromPayload<v4l2_fmtdesc>(payload);
  std::vector<uint32_t> fourccs;
  if (isOutputType(desc.type)) {
    for (const auto& codec : ctx_.backend.capabilities()) {
      if (uint32_t fourcc = fourccFromCodedFormat(codec.format)) fourccs.push_back(fourcc);
    }
  } else if (isCaptureType(desc.type)) {
    for (auto format : ctx_.backend.outputFormats()) fourccs.push_back(fourccFromPixelFormat(format));
  } else {
    return error(EINVAL, fmt::format("ENUM_FMT type {}", desc.type));
  }
  if (desc.index >= fourccs.size()) return {EINVAL, {}};  // the end of the list, not an error
  const uint32_t type = desc.type;
  const uint32_t index = desc.index;
  desc = {};
  desc.index = index;
  desc.type = type;
  desc.pixelformat = fourccs[index];
  if (isOutputType(type)) desc.flags = V4L2_FMT_FLAG_COMPRESSED | V4L2_FMT_FLAG_DYN_RESOLUTION;
  std::strncpy(reinterpret_cast<char*>(desc.description), fourccDescription(desc.pixelformat),
               sizeof(desc.description) - 1);
  return {0, toPayload(desc)};
}

IoctlReply MediaSession::enumFrameSizes(const std::vector<std::byte>& payload) {
  auto sizes = fromPayload<v4l2_frmsizeenum>(payload);
  if (sizes.index != 0) return {EINVAL, {}};
  std::optional<codecs::CodedFormat> format = codedFormatFromFourcc(sizes.pixel_format);
  if (!format) {
    // A raw format: the sizes of the coded format being decoded.
    if (!pixelFormatFromFourcc(sizes.pixel_format)) {
      return error(EINVAL, fmt::format("ENUM_FRAMESIZES format {:#x}", sizes.pixel_format));
    }
    format = codedFormatFromFourcc(coded_.fourcc);
  }
  for (const auto& codec : ctx_.backend.capabilities()) {
    if (codec.format != *format) continue;
    const uint32_t fourcc = sizes.pixel_format;
    sizes = {};
    sizes.pixel_format = fourcc;
    sizes.type = V4L2_FRMSIZE_TYPE_STEPWISE;
    sizes.stepwise = {codec.minWidth, codec.maxWidth, 1, codec.minHeight, codec.maxHeight, 1};
    return {0, toPayload(sizes)};
  }
  return error(EINVAL, "ENUM_FRAMESIZES: codec not decoded here");
}

IoctlReply MediaSession::getFormat(const std::vector<std::byte>& payload) {
  auto format = fromPayload<v4l2_format>(payload);
  if (isOutputType(format.type)) {
    fillCodedFormat(format, coded_);
  } else if (isCaptureType(format.type)) {
    fillRawFormat(format, captureLayout());
  } else {
    return error(EINVAL, fmt::format("G_FMT type {}", format.type));
  }
  return {0, toPayload(format)};
}

// S_FMT (apply) and TRY_FMT: the request is adjusted to what the decoder does, never refused
// for its values (V4L2); only a busy queue or a bad type fails.
IoctlReply MediaSession::setFormat(const std::vector<std::byte>& payload, bool apply) {
  auto format = fromPayload<v4l2_format>(payload);
  const bool mplane = v4l2::isMultiplanar(format.type);
  const uint32_t fourcc = mplane ? format.fmt.pix_mp.pixelformat : format.fmt.pix.pixelformat;
  if (isOutputType(format.type)) {
    CodedQueueFormat coded = coded_;
    if (codedFormatFromFourcc(fourcc)) coded.fourcc = fourcc;
    const uint32_t width = mplane ? format.fmt.pix_mp.width : format.fmt.pix.width;
    const uint32_t height = mplane ? format.fmt.pix_mp.height : format.fmt.pix.height;
    if (width >= 16 && width <= 16384 && height >= 16 && height <= 16384) {
      coded.width = width;
      coded.height = height;
    }
    const uint32_t size = mplane ? format.fmt.pix_mp.plane_fmt[0].sizeimage : format.fmt.pix.sizeimage;
    coded.sizeImage = size >= kMinSizeImage && size <= ctx_.config.maxBitstreamBytes
                          ? size
                          : std::min<uint32_t>(kDefaultSizeImage, ctx_.config.maxBitstreamBytes);
    if (apply) {
      if (coded.fourcc != coded_.fourcc && (session_ || !output_.slots.empty())) {
        return error(EBUSY, "S_FMT(OUTPUT): the codec is in use");
      }
      coded_ = coded;
    }
    fillCodedFormat(format, coded);
    return {0, toPayload(format)};
  }
  if (!isCaptureType(format.type)) return error(EINVAL, fmt::format("S_FMT type {}", format.type));
  buffers::PixelFormat pixel = pixelFormat_;
  if (auto wanted = pixelFormatFromFourcc(fourcc)) {
    const auto offered = ctx_.backend.outputFormats();
    if (std::find(offered.begin(), offered.end(), *wanted) != offered.end()) pixel = *wanted;
  }
  if (apply && pixel != pixelFormat_) {
    if (!capture_.slots.empty()) return error(EBUSY, "S_FMT(CAPTURE) with buffers allocated");
    pixelFormat_ = pixel;
  }
  const buffers::PixelFormat saved = pixelFormat_;
  pixelFormat_ = pixel;
  const buffers::FrameLayout layout = captureLayout();
  pixelFormat_ = saved;
  fillRawFormat(format, layout);
  return {0, toPayload(format)};
}

IoctlReply MediaSession::selection(const std::vector<std::byte>& payload, bool set) {
  auto sel = fromPayload<v4l2_selection>(payload);
  if (!isCaptureType(sel.type)) return error(EINVAL, "selection on OUTPUT");
  const buffers::FrameLayout layout = captureLayout();
  const buffers::Rect& v = layout.visible;
  switch (sel.target) {
    case V4L2_SEL_TGT_CROP:
    case V4L2_SEL_TGT_CROP_DEFAULT:
    case V4L2_SEL_TGT_COMPOSE:
    case V4L2_SEL_TGT_COMPOSE_DEFAULT:
    case V4L2_SEL_TGT_COMPOSE_BOUNDS:
      sel.r = {static_cast<int32_t>(v.left), static_cast<int32_t>(v.top), v.width, v.height};
      break;
    case V4L2_SEL_TGT_CROP_BOUNDS:
    case V4L2_SEL_TGT_COMPOSE_PADDED:
      sel.r = {0, 0, layout.width, layout.height};
      break;
    default: return error(EINVAL, fmt::format("selection target {:#x}", sel.target));
  }
  // S_SELECTION: the decoder does not scale or crop; COMPOSE is answered with the visible rect.
  if (set && sel.target != V4L2_SEL_TGT_COMPOSE) return error(EINVAL, "selection is read-only");
  return {0, toPayload(sel)};
}

std::optional<int64_t> MediaSession::controlValue(uint32_t id) const {
  if (id == V4L2_CID_MIN_BUFFERS_FOR_CAPTURE) return minCaptureBuffers();
  // A V4L2 integer control is 32-bit signed: the statistics saturate at INT32_MAX.
  if (auto value = statistics_.control(id, INT32_MAX)) return static_cast<int64_t>(*value);
  auto menu = profileMenu(ctx_.backend, id, nullptr);
  if (!menu.empty()) return menu.front();
  return std::nullopt;
}

IoctlReply MediaSession::queryControl(const std::vector<std::byte>& payload) {
  auto query = fromPayload<v4l2_queryctrl>(payload);
  uint32_t id = query.id;
  if (id & V4L2_CTRL_FLAG_NEXT_CTRL) {
    // Enumeration: the next offered control after the id (all of them are plain ones).
    const uint32_t after = id & ~(V4L2_CTRL_FLAG_NEXT_CTRL | V4L2_CTRL_FLAG_NEXT_COMPOUND);
    std::vector<uint32_t> ids{V4L2_CID_MIN_BUFFERS_FOR_CAPTURE};
    for (const auto& control : kProfileControls) {
      if (!profileMenu(ctx_.backend, control.id, nullptr).empty()) ids.push_back(control.id);
    }
    for (const auto& control : kStatisticsControls) ids.push_back(control.id);
    std::sort(ids.begin(), ids.end());
    auto next = std::upper_bound(ids.begin(), ids.end(), after);
    if (next == ids.end()) return {EINVAL, {}};  // the end of the list, not an error
    id = *next;
  } else if (id & V4L2_CTRL_FLAG_NEXT_COMPOUND) {
    return {EINVAL, {}};  // no compound controls
  }
  query = {};
  query.id = id;
  if (id == V4L2_CID_MIN_BUFFERS_FOR_CAPTURE) {
    query.type = V4L2_CTRL_TYPE_INTEGER;
    std::strncpy(reinterpret_cast<char*>(query.name), "Min Number of Capture Buffers",
                 sizeof(query.name) - 1);
    query.minimum = 1;
    query.maximum = kMaxBuffers;
    query.step = 1;
    query.default_value = minCaptureBuffers();
    query.flags = V4L2_CTRL_FLAG_READ_ONLY | V4L2_CTRL_FLAG_VOLATILE;
    return {0, toPayload(query)};
  }
  for (const auto& control : kStatisticsControls) {
    if (control.id != id) continue;
    query.type = V4L2_CTRL_TYPE_INTEGER;
    std::strncpy(reinterpret_cast<char*>(query.name), control.name, sizeof(query.name) - 1);
    query.maximum = INT32_MAX;
    query.step = 1;
    query.flags = V4L2_CTRL_FLAG_READ_ONLY | V4L2_CTRL_FLAG_VOLATILE;
    return {0, toPayload(query)};
  }
  const char* name = "";
  auto menu = profileMenu(ctx_.backend, id, &name);
  if (menu.empty()) return error(EINVAL, fmt::format("control {:#x}", id));
  query.type = V4L2_CTRL_TYPE_MENU;
  std::strncpy(reinterpret_cast<char*>(query.name), name, sizeof(query.name) - 1);
  query.minimum = menu.front();
  query.maximum = menu.back();
  query.step = 1;
  query.default_value = menu.front();
  query.flags = V4L2_CTRL_FLAG_READ_ONLY;
  return {0, toPayload(query)};
}

IoctlReply MediaSession::queryExtControl(const std::vector<std::byte>& payload) {
  auto query = fromPayload<v4l2_query_ext_ctrl>(payload);
  v4l2_queryctrl basic{};
  basic.id = query.id;
  if ((query.id & V4L2_CTRL_FLAG_NEXT_COMPOUND) && !(query.id & V4L2_CTRL_FLAG_NEXT_CTRL)) {
    return {EINVAL, {}};  // no compound controls
  }
  IoctlReply reply = queryControl(toPayload(basic));
  if (reply.status != 0) return reply;
  basic = fromPayload<v4l2_queryctrl>(reply.payload);
  query = {};
  query.id = basic.id;
  query.type = basic.type;
  std::memcpy(query.name, basic.name, sizeof(query.name));
  query.minimum = basic.minimum;
  query.maximum = basic.maximum;
  query.step = basic.step;
  query.default_value = basic.default_value;
  query.flags = basic.flags;
  query.elem_size = sizeof(int32_t);
  query.elems = 1;
  return {0, toPayload(query)};
}

IoctlReply MediaSession::queryMenu(const std::vector<std::byte>& payload) {
  auto menu = fromPayload<v4l2_querymenu>(payload);
  static constexpr const char* kNames[] = {"Profile 0", "Profile 1", "Profile 2", "Profile 3",
                                           "Profile 4"};
  auto indices = profileMenu(ctx_.backend, menu.id, nullptr);
  if (std::find(indices.begin(), indices.end(), static_cast<int>(menu.index)) == indices.end()) {
    return {EINVAL, {}};  // not offered: skipped by the client
  }
  const uint32_t id = menu.id;
  const uint32_t index = menu.index;
  menu = {};
  menu.id = id;
  menu.index = index;
  std::strncpy(reinterpret_cast<char*>(menu.name), kNames[std::min<uint32_t>(index, 4)],
               sizeof(menu.name) - 1);
  return {0, toPayload(menu)};
}

IoctlReply MediaSession::getControl(const std::vector<std::byte>& payload) {
  auto control = fromPayload<v4l2_control>(payload);
  auto value = controlValue(control.id);
  if (!value) return error(EINVAL, fmt::format("control {:#x}", control.id));
  control.value = static_cast<int32_t>(*value);
  return {0, toPayload(control)};
}

IoctlReply MediaSession::extControls(const MediaExtControls& request, bool get) {
  wire::v4l2_ext_controls header = request.header;
  std::vector<wire::v4l2_ext_control> controls = request.controls;
  uint32_t status = 0;
  for (uint32_t i = 0; i < controls.size(); ++i) {
    auto value = controlValue(controls[i].id);
    if (!value || controls[i].size != 0) {
      status = EINVAL;
    } else if (!get) {
      status = EACCES;  // every control is read-only
    } else {
      controls[i].value = static_cast<uint64_t>(*value);
      continue;
    }
    header.error_idx = get ? i : static_cast<uint32_t>(controls.size());
    break;
  }
  if (status != 0) ++ctx_.statistics.errorResponses;
  std::vector<std::byte> payload = toPayload(header);
  for (const auto& control : controls) {
    auto more = toPayload(control);
    payload.insert(payload.end(), more.begin(), more.end());
  }
  return {status, std::move(payload)};
}

IoctlReply MediaSession::subscribe(const std::vector<std::byte>& payload, bool subscribe) {
  auto sub = fromPayload<v4l2_event_subscription>(payload);
  if (!subscribe && sub.type == V4L2_EVENT_ALL) {
    subscribedSourceChange_ = subscribedEos_ = false;
    return {};
  }
  if (sub.type == V4L2_EVENT_SOURCE_CHANGE) {
    subscribedSourceChange_ = subscribe;
  } else if (sub.type == V4L2_EVENT_EOS) {
    subscribedEos_ = subscribe;
  } else {
    return error(EINVAL, fmt::format("event type {}", sub.type));
  }
  return {};
}

IoctlReply MediaSession::streamParams(const std::vector<std::byte>& payload) {
  auto parm = fromPayload<v4l2_streamparm>(payload);
  if (!isOutputType(parm.type) && !isCaptureType(parm.type)) {
    return error(EINVAL, fmt::format("PARM type {}", parm.type));
  }
  const uint32_t type = parm.type;
  parm = {};
  parm.type = type;  // no frame interval: the decoder runs as fast as buffers come
  return {0, toPayload(parm)};
}

}  // namespace vdec::media
