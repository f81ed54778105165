// SPDX-License-Identifier: MIT
// virtio-video v3 wire structs with the ChromeOS extensions, as crosvm and the ChromeOS/ARCVM
// guest driver speak them. All fields are little-endian; sizes are asserted below.
#pragma once

#include <bit>
#include <cstdint>

static_assert(std::endian::native == std::endian::little, "virtio is little-endian");

// NOLINTBEGIN(readability-identifier-naming)
namespace vdec::wire {

inline constexpr uint32_t VIRTIO_ID_VIDEO_DECODER = 31;
inline constexpr uint32_t VIRTIO_VIDEO_MAX_PLANES = 8;

// Feature bits.
inline constexpr uint32_t VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES = 0;
inline constexpr uint32_t VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG = 1;
inline constexpr uint32_t VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT = 2;

enum : uint32_t {
  VIRTIO_VIDEO_CMD_QUERY_CAPABILITY = 0x0100,
  VIRTIO_VIDEO_CMD_STREAM_CREATE = 0x0101,
  VIRTIO_VIDEO_CMD_STREAM_DESTROY = 0x0102,
  VIRTIO_VIDEO_CMD_STREAM_DRAIN = 0x0103,
  VIRTIO_VIDEO_CMD_RESOURCE_CREATE = 0x0104,
  VIRTIO_VIDEO_CMD_RESOURCE_QUEUE = 0x0105,
  VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL = 0x0106,
  VIRTIO_VIDEO_CMD_QUEUE_CLEAR = 0x0107,
  VIRTIO_VIDEO_CMD_GET_PARAMS = 0x0108,
  VIRTIO_VIDEO_CMD_SET_PARAMS = 0x0109,
  VIRTIO_VIDEO_CMD_QUERY_CONTROL = 0x010A,
  VIRTIO_VIDEO_CMD_GET_CONTROL = 0x010B,
  VIRTIO_VIDEO_CMD_SET_CONTROL = 0x010C,
  VIRTIO_VIDEO_CMD_GET_PARAMS_EXT = 0x010D,
  VIRTIO_VIDEO_CMD_SET_PARAMS_EXT = 0x010E,

  VIRTIO_VIDEO_RESP_OK_NODATA = 0x0200,
  VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY = 0x0201,
  VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE = 0x0202,
  VIRTIO_VIDEO_RESP_OK_GET_PARAMS = 0x0203,
  VIRTIO_VIDEO_RESP_OK_QUERY_CONTROL = 0x0204,
  VIRTIO_VIDEO_RESP_OK_GET_CONTROL = 0x0205,

  VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION = 0x0300,
  VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY = 0x0301,
  VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID = 0x0302,
  VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID = 0x0303,
  VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER = 0x0304,
  VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL = 0x0305,
};

enum : uint32_t {
  VIRTIO_VIDEO_QUEUE_TYPE_INPUT = 0x100,
  VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT = 0x101,
};

enum : uint32_t {
  VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES = 0,
  VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT = 1,
};

enum : uint32_t {
  VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER = 1 << 0,
  VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE = 1 << 1,
};

enum : uint32_t {
  VIRTIO_VIDEO_BUFFER_FLAG_ERR = 0x0001,
  VIRTIO_VIDEO_BUFFER_FLAG_EOS = 0x0002,
  VIRTIO_VIDEO_BUFFER_FLAG_IFRAME = 0x0004,
  VIRTIO_VIDEO_BUFFER_FLAG_PFRAME = 0x0008,
  VIRTIO_VIDEO_BUFFER_FLAG_BFRAME = 0x0010,
};

enum : uint32_t {
  VIRTIO_VIDEO_EVENT_ERROR = 0x0100,
  VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED = 0x0200,
};

enum : uint32_t {
  VIRTIO_VIDEO_FORMAT_ARGB8888 = 1,
  VIRTIO_VIDEO_FORMAT_BGRA8888 = 2,
  VIRTIO_VIDEO_FORMAT_NV12 = 3,
  VIRTIO_VIDEO_FORMAT_YUV420 = 4,
  VIRTIO_VIDEO_FORMAT_YVU420 = 5,
  VIRTIO_VIDEO_FORMAT_MPEG2 = 0x1000,
  VIRTIO_VIDEO_FORMAT_MPEG4 = 0x1001,
  VIRTIO_VIDEO_FORMAT_H264 = 0x1002,
  VIRTIO_VIDEO_FORMAT_HEVC = 0x1003,
  VIRTIO_VIDEO_FORMAT_VP8 = 0x1004,
  VIRTIO_VIDEO_FORMAT_VP9 = 0x1005,
};

enum : uint32_t {
  VIRTIO_VIDEO_PROFILE_H264_BASELINE = 0x100,
  VIRTIO_VIDEO_PROFILE_H264_MAIN = 0x101,
  VIRTIO_VIDEO_PROFILE_H264_EXTENDED = 0x102,
  VIRTIO_VIDEO_PROFILE_H264_HIGH = 0x103,
  VIRTIO_VIDEO_PROFILE_H264_HIGH10PROFILE = 0x104,
  VIRTIO_VIDEO_PROFILE_H264_HIGH422PROFILE = 0x105,
  VIRTIO_VIDEO_PROFILE_H264_HIGH444PREDICTIVEPROFILE = 0x106,
  VIRTIO_VIDEO_PROFILE_H264_SCALABLEBASELINE = 0x107,
  VIRTIO_VIDEO_PROFILE_H264_SCALABLEHIGH = 0x108,
  VIRTIO_VIDEO_PROFILE_H264_STEREOHIGH = 0x109,
  VIRTIO_VIDEO_PROFILE_H264_MULTIVIEWHIGH = 0x10A,
  VIRTIO_VIDEO_PROFILE_HEVC_MAIN = 0x200,
  VIRTIO_VIDEO_PROFILE_HEVC_MAIN10 = 0x201,
  VIRTIO_VIDEO_PROFILE_HEVC_MAIN_STILL_PICTURE = 0x202,
  VIRTIO_VIDEO_PROFILE_VP8_PROFILE0 = 0x300,
  VIRTIO_VIDEO_PROFILE_VP8_PROFILE1 = 0x301,
  VIRTIO_VIDEO_PROFILE_VP8_PROFILE2 = 0x302,
  VIRTIO_VIDEO_PROFILE_VP8_PROFILE3 = 0x303,
  VIRTIO_VIDEO_PROFILE_VP9_PROFILE0 = 0x400,
  VIRTIO_VIDEO_PROFILE_VP9_PROFILE1 = 0x401,
  VIRTIO_VIDEO_PROFILE_VP9_PROFILE2 = 0x402,
  VIRTIO_VIDEO_PROFILE_VP9_PROFILE3 = 0x403,
};

enum : uint32_t {
  VIRTIO_VIDEO_LEVEL_H264_1_0 = 0x100,
  VIRTIO_VIDEO_LEVEL_H264_1_1 = 0x101,
  VIRTIO_VIDEO_LEVEL_H264_1_2 = 0x102,
  VIRTIO_VIDEO_LEVEL_H264_1_3 = 0x103,
  VIRTIO_VIDEO_LEVEL_H264_2_0 = 0x104,
  VIRTIO_VIDEO_LEVEL_H264_2_1 = 0x105,
  VIRTIO_VIDEO_LEVEL_H264_2_2 = 0x106,
  VIRTIO_VIDEO_LEVEL_H264_3_0 = 0x107,
  VIRTIO_VIDEO_LEVEL_H264_3_1 = 0x108,
  VIRTIO_VIDEO_LEVEL_H264_3_2 = 0x109,
  VIRTIO_VIDEO_LEVEL_H264_4_0 = 0x10A,
  VIRTIO_VIDEO_LEVEL_H264_4_1 = 0x10B,
  VIRTIO_VIDEO_LEVEL_H264_4_2 = 0x10C,
  VIRTIO_VIDEO_LEVEL_H264_5_0 = 0x10D,
  VIRTIO_VIDEO_LEVEL_H264_5_1 = 0x10E,
};

enum : uint32_t {
  VIRTIO_VIDEO_CONTROL_BITRATE = 1,
  VIRTIO_VIDEO_CONTROL_PROFILE = 2,
  VIRTIO_VIDEO_CONTROL_LEVEL = 3,
  VIRTIO_VIDEO_CONTROL_FORCE_KEYFRAME = 4,
  VIRTIO_VIDEO_CONTROL_BITRATE_MODE = 5,
  VIRTIO_VIDEO_CONTROL_BITRATE_PEAK = 6,
  VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR = 7,
};

// vdec extension: read-only per-stream statistics through GET_CONTROL (values saturate at
// UINT32_MAX). Outside the range of the v3 control ids, so a guest driver never asks for them.
enum : uint32_t {
  VDEC_CONTROL_STATS_FRAMES = 0x08000001,
  VDEC_CONTROL_STATS_BYTES_COPIED_PER_FRAME = 0x08000002,
  VDEC_CONTROL_STATS_DIRECT_FRAMES = 0x08000003,
  VDEC_CONTROL_STATS_BOUNCE_FRAMES = 0x08000004,
  VDEC_CONTROL_STATS_ERROR_FRAMES = 0x08000005,
};

struct virtio_video_config {
  uint32_t version;
  uint32_t max_caps_length;
  uint32_t max_resp_length;
  uint8_t device_name[32];
};

struct virtio_video_cmd_hdr {
  uint32_t type;
  uint32_t stream_id;
};

// QUERY_CAPABILITY, RESOURCE_DESTROY_ALL, QUEUE_CLEAR, GET_PARAMS(_EXT) share this body.
struct virtio_video_queue_cmd {
  virtio_video_cmd_hdr hdr;
  uint32_t queue_type;
  uint8_t padding[4];
};

struct virtio_video_query_capability_resp {
  virtio_video_cmd_hdr hdr;
  uint32_t num_descs;
  uint8_t padding[4];
};

struct virtio_video_format_range {
  uint32_t min;
  uint32_t max;
  uint32_t step;
  uint8_t padding[4];
};

struct virtio_video_format_frame {
  virtio_video_format_range width;
  virtio_video_format_range height;
  uint32_t num_rates;
  uint8_t padding[4];
};

struct virtio_video_format_desc {
  uint64_t mask;
  uint32_t format;
  uint32_t planes_layout;
  uint32_t plane_align;
  uint32_t num_frames;
};

struct virtio_video_stream_create {
  virtio_video_cmd_hdr hdr;
  uint32_t in_mem_type;
  uint32_t out_mem_type;
  uint32_t coded_format;
  uint8_t padding[4];
  uint8_t tag[64];
};

struct virtio_video_mem_entry {
  uint64_t addr;
  uint32_t length;
  uint8_t padding[4];
};

struct virtio_video_object_entry {
  uint8_t uuid[16];
};

struct virtio_video_resource_create {
  virtio_video_cmd_hdr hdr;
  uint32_t queue_type;
  uint32_t resource_id;
  uint32_t planes_layout;
  uint32_t num_planes;
  uint32_t plane_offsets[VIRTIO_VIDEO_MAX_PLANES];
  uint32_t num_entries[VIRTIO_VIDEO_MAX_PLANES];
};

struct virtio_video_resource_queue {
  virtio_video_cmd_hdr hdr;
  uint32_t queue_type;
  uint32_t resource_id;
  uint64_t timestamp;
  uint32_t num_data_sizes;
  uint32_t data_sizes[VIRTIO_VIDEO_MAX_PLANES];
  uint8_t padding[4];
};

struct virtio_video_resource_queue_resp {
  virtio_video_cmd_hdr hdr;
  uint64_t timestamp;
  uint32_t flags;
  uint32_t size;
};

struct virtio_video_plane_format {
  uint32_t plane_size;
  uint32_t stride;
};

struct virtio_video_crop {
  uint32_t left;
  uint32_t top;
  uint32_t width;
  uint32_t height;
};

struct virtio_video_params {
  uint32_t queue_type;
  uint32_t format;
  uint32_t frame_width;
  uint32_t frame_height;
  uint32_t min_buffers;
  uint32_t max_buffers;
  virtio_video_crop crop;
  uint32_t frame_rate;
  uint32_t num_planes;
  virtio_video_plane_format plane_formats[VIRTIO_VIDEO_MAX_PLANES];
};

struct virtio_video_params_ext {
  virtio_video_params base;
  uint32_t resource_type;
  uint8_t padding[4];
};

struct virtio_video_set_params {
  virtio_video_cmd_hdr hdr;
  virtio_video_params params;
};

struct virtio_video_set_params_ext {
  virtio_video_cmd_hdr hdr;
  virtio_video_params_ext params;
};

struct virtio_video_get_params_resp {
  virtio_video_cmd_hdr hdr;
  virtio_video_params params;
};

struct virtio_video_get_params_ext_resp {
  virtio_video_cmd_hdr hdr;
  virtio_video_params_ext params;
};

struct virtio_video_query_control {
  virtio_video_cmd_hdr hdr;
  uint32_t control;
  uint8_t padding[4];
};

// Follows virtio_video_query_control for PROFILE and LEVEL.
struct virtio_video_query_control_format {
  uint32_t format;
  uint8_t padding[4];
};

struct virtio_video_query_control_resp {
  virtio_video_cmd_hdr hdr;
  uint32_t num;
  uint8_t padding[4];
};  // followed by num x uint32_t

struct virtio_video_get_control {
  virtio_video_cmd_hdr hdr;
  uint32_t control;
  uint8_t padding[4];
};

struct virtio_video_get_control_resp {
  virtio_video_cmd_hdr hdr;
  uint32_t value;
  uint8_t padding[4];
};

struct virtio_video_set_control {
  virtio_video_cmd_hdr hdr;
  uint32_t control;
  uint8_t padding[4];
  uint32_t value;
  uint8_t padding2[4];
};

struct virtio_video_event {
  uint32_t event_type;
  uint32_t stream_id;
};

static_assert(sizeof(virtio_video_config) == 44);
static_assert(sizeof(virtio_video_cmd_hdr) == 8);
static_assert(sizeof(virtio_video_queue_cmd) == 16);
static_assert(sizeof(virtio_video_query_capability_resp) == 16);
static_assert(sizeof(virtio_video_format_range) == 16);
static_assert(sizeof(virtio_video_format_frame) == 40);
static_assert(sizeof(virtio_video_format_desc) == 24);
static_assert(sizeof(virtio_video_stream_create) == 88);
static_assert(sizeof(virtio_video_mem_entry) == 16);
static_assert(sizeof(virtio_video_object_entry) == 16);
static_assert(sizeof(virtio_video_resource_create) == 88);
static_assert(sizeof(virtio_video_resource_queue) == 64);
static_assert(sizeof(virtio_video_resource_queue_resp) == 24);
static_assert(sizeof(virtio_video_plane_format) == 8);
static_assert(sizeof(virtio_video_crop) == 16);
static_assert(sizeof(virtio_video_params) == 112);
static_assert(sizeof(virtio_video_params_ext) == 120);
static_assert(sizeof(virtio_video_set_params) == 120);
static_assert(sizeof(virtio_video_set_params_ext) == 128);
static_assert(sizeof(virtio_video_get_params_resp) == 120);
static_assert(sizeof(virtio_video_get_params_ext_resp) == 128);
static_assert(sizeof(virtio_video_query_control) == 16);
static_assert(sizeof(virtio_video_query_control_format) == 8);
static_assert(sizeof(virtio_video_query_control_resp) == 16);
static_assert(sizeof(virtio_video_get_control) == 16);
static_assert(sizeof(virtio_video_get_control_resp) == 16);
static_assert(sizeof(virtio_video_set_control) == 24);
static_assert(sizeof(virtio_video_event) == 8);

}  // namespace vdec::wire
// NOLINTEND(readability-identifier-naming)
