// SPDX-License-Identifier: MIT
#include "vdec/formats.h"

#include <algorithm>

#include "vdec/base/wire.h"
#include "vdec/protocol/virtio_video.h"

namespace vdec {
namespace w = wire;

std::optional<codecs::CodedFormat> codedFormatFromVirtio(uint32_t format) {
  switch (format) {
    case w::VIRTIO_VIDEO_FORMAT_H264: return codecs::CodedFormat::kH264;
    case w::VIRTIO_VIDEO_FORMAT_HEVC: return codecs::CodedFormat::kHevc;
    case w::VIRTIO_VIDEO_FORMAT_VP8: return codecs::CodedFormat::kVp8;
    case w::VIRTIO_VIDEO_FORMAT_VP9: return codecs::CodedFormat::kVp9;
    default: return std::nullopt;
  }
}

uint32_t virtioFromCodedFormat(codecs::CodedFormat format) {
  switch (format) {
    case codecs::CodedFormat::kH264: return w::VIRTIO_VIDEO_FORMAT_H264;
    case codecs::CodedFormat::kHevc: return w::VIRTIO_VIDEO_FORMAT_HEVC;
    case codecs::CodedFormat::kVp8: return w::VIRTIO_VIDEO_FORMAT_VP8;
    case codecs::CodedFormat::kVp9: return w::VIRTIO_VIDEO_FORMAT_VP9;
    case codecs::CodedFormat::kAv1: return 0;  // virtio-video has no AV1 format
  }
  return 0;
}

std::optional<buffers::PixelFormat> pixelFormatFromVirtio(uint32_t format) {
  switch (format) {
    case w::VIRTIO_VIDEO_FORMAT_NV12: return buffers::PixelFormat::kNv12;
    case w::VIRTIO_VIDEO_FORMAT_YUV420: return buffers::PixelFormat::kI420;
    case w::VIRTIO_VIDEO_FORMAT_YVU420: return buffers::PixelFormat::kYv12;
    default: return std::nullopt;
  }
}

uint32_t virtioFromPixelFormat(buffers::PixelFormat format) {
  switch (format) {
    case buffers::PixelFormat::kNv12: return w::VIRTIO_VIDEO_FORMAT_NV12;
    case buffers::PixelFormat::kI420: return w::VIRTIO_VIDEO_FORMAT_YUV420;
    case buffers::PixelFormat::kYv12: return w::VIRTIO_VIDEO_FORMAT_YVU420;
  }
  return 0;
}

uint32_t virtioFromProfile(codecs::CodecProfile profile) {
  using P = codecs::CodecProfile;
  switch (profile) {
    case P::kH264Baseline: return w::VIRTIO_VIDEO_PROFILE_H264_BASELINE;
    case P::kH264Main: return w::VIRTIO_VIDEO_PROFILE_H264_MAIN;
    case P::kH264Extended: return w::VIRTIO_VIDEO_PROFILE_H264_EXTENDED;
    case P::kH264High: return w::VIRTIO_VIDEO_PROFILE_H264_HIGH;
    case P::kHevcMain: return w::VIRTIO_VIDEO_PROFILE_HEVC_MAIN;
    case P::kHevcMain10: return w::VIRTIO_VIDEO_PROFILE_HEVC_MAIN10;
    case P::kHevcMainStillPicture: return w::VIRTIO_VIDEO_PROFILE_HEVC_MAIN_STILL_PICTURE;
    case P::kVp8Profile0: return w::VIRTIO_VIDEO_PROFILE_VP8_PROFILE0;
    case P::kVp8Profile1: return w::VIRTIO_VIDEO_PROFILE_VP8_PROFILE1;
    case P::kVp8Profile2: return w::VIRTIO_VIDEO_PROFILE_VP8_PROFILE2;
    case P::kVp8Profile3: return w::VIRTIO_VIDEO_PROFILE_VP8_PROFILE3;
    case P::kVp9Profile0: return w::VIRTIO_VIDEO_PROFILE_VP9_PROFILE0;
    case P::kVp9Profile1: return w::VIRTIO_VIDEO_PROFILE_VP9_PROFILE1;
    case P::kVp9Profile2: return w::VIRTIO_VIDEO_PROFILE_VP9_PROFILE2;
    case P::kVp9Profile3: return w::VIRTIO_VIDEO_PROFILE_VP9_PROFILE3;
    case P::kAv1Main:
    case P::kAv1High:
    case P::kAv1Professional: return 0;  // no virtio-video AV1 profiles
  }
  return 0;
}

uint32_t virtioFromLevel(codecs::CodecLevel level) {
  using L = codecs::CodecLevel;
  switch (level) {
    case L::kH264_1_0: return w::VIRTIO_VIDEO_LEVEL_H264_1_0;
    case L::kH264_1_1: return w::VIRTIO_VIDEO_LEVEL_H264_1_1;
    case L::kH264_1_2: return w::VIRTIO_VIDEO_LEVEL_H264_1_2;
    case L::kH264_1_3: return w::VIRTIO_VIDEO_LEVEL_H264_1_3;
    case L::kH264_2_0: return w::VIRTIO_VIDEO_LEVEL_H264_2_0;
    case L::kH264_2_1: return w::VIRTIO_VIDEO_LEVEL_H264_2_1;
    case L::kH264_2_2: return w::VIRTIO_VIDEO_LEVEL_H264_2_2;
    case L::kH264_3_0: return w::VIRTIO_VIDEO_LEVEL_H264_3_0;
    case L::kH264_3_1: return w::VIRTIO_VIDEO_LEVEL_H264_3_1;
    case L::kH264_3_2: return w::VIRTIO_VIDEO_LEVEL_H264_3_2;
    case L::kH264_4_0: return w::VIRTIO_VIDEO_LEVEL_H264_4_0;
    case L::kH264_4_1: return w::VIRTIO_VIDEO_LEVEL_H264_4_1;
    case L::kH264_4_2: return w::VIRTIO_VIDEO_LEVEL_H264_4_2;
    case L::kH264_5_0: return w::VIRTIO_VIDEO_LEVEL_H264_5_0;
    case L::kH264_5_1: return w::VIRTIO_VIDEO_LEVEL_H264_5_1;
  }
  return 0;
}

namespace {

void appendDesc(std::vector<std::byte>& out, uint64_t mask, uint32_t format, uint32_t minW,
                uint32_t maxW, uint32_t minH, uint32_t maxH) {
  w::virtio_video_format_desc desc{};
  desc.mask = mask;
  desc.format = format;
  desc.planes_layout = w::VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
  desc.plane_align = 1;
  desc.num_frames = 1;
  appendWire(out, desc);
  w::virtio_video_format_frame frame{};
  frame.width = {minW, maxW, 1, {}};
  frame.height = {minH, maxH, 1, {}};
  frame.num_rates = 0;
  appendWire(out, frame);
}

uint64_t allBits(size_t count) {
  count = std::min<size_t>(count, 64);
  return count == 64 ? ~0ull : (1ull << count) - 1;
}

}  // namespace

std::vector<codecs::CodecCapability> virtioVideoCodecs(
    const std::vector<codecs::CodecCapability>& codecs) {
  std::vector<codecs::CodecCapability> result;
  for (const auto& codec : codecs) {
    if (virtioFromCodedFormat(codec.format) != 0) result.push_back(codec);
  }
  return result;
}

std::vector<std::byte> buildCapabilityResponse(QueueType queue, uint32_t streamId,
                                               const std::vector<codecs::CodecCapability>& all,
                                               const std::vector<buffers::PixelFormat>& outputs) {
  const std::vector<codecs::CodecCapability> codecs = virtioVideoCodecs(all);
  std::vector<std::byte> out;
  w::virtio_video_query_capability_resp header{};
  header.hdr = {w::VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY, streamId};
  if (queue == QueueType::kInput) {
    header.num_descs = static_cast<uint32_t>(codecs.size());
    appendWire(out, header);
    for (const auto& codec : codecs) {
      appendDesc(out, allBits(outputs.size()), virtioFromCodedFormat(codec.format), codec.minWidth,
                 codec.maxWidth, codec.minHeight, codec.maxHeight);
    }
  } else {
    header.num_descs = static_cast<uint32_t>(outputs.size());
    appendWire(out, header);
    uint32_t minW = 16, maxW = 16, minH = 16, maxH = 16;
    for (const auto& codec : codecs) {
      minW = std::min(minW, codec.minWidth);
      minH = std::min(minH, codec.minHeight);
      maxW = std::max(maxW, codec.maxWidth);
      maxH = std::max(maxH, codec.maxHeight);
    }
    for (auto format : outputs) {
      appendDesc(out, allBits(codecs.size()), virtioFromPixelFormat(format), minW, maxW, minH,
                 maxH);
    }
  }
  return out;
}

}  // namespace vdec
