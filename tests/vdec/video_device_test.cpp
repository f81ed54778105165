// SPDX-License-Identifier: MIT
#include "vdec/video_device.h"

#include <cstring>

#include <gtest/gtest.h>

#include "tests/fakes/fake_decoder_backend.h"
#include "tests/fakes/guest_memory_fixture.h"
#include "vdec/base/wire.h"
#include "vdec/stream.h"

namespace vdec {
namespace {
namespace w = wire;
using testing::FakeDecoderBackend;

constexpr uint32_t kStream = 1;

class VideoDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DeviceConfig config;
    config.maxStreams = 4;
    restart(config);
  }
  // A fresh device with `config` (and a fresh backend).
  void restart(const DeviceConfig& config) {
    device_.reset();
    if (!ram_.memory) ram_ = testing::makeTestGuestMemory(16 << 20);
    backend_ = std::make_shared<FakeDecoderBackend>();
    device_ = std::make_unique<VideoDevice>(config, backend_);
    device_->setGuestMemory(ram_.memory);
  }

  // Sends a command and returns the responses that completed (any tag).
  std::vector<Completion> send(const std::vector<std::byte>& request, size_t capacity = 4096) {
    device_->handleCommand(nextTag_++, request, capacity);
    return device_->takeCompletions();
  }
  uint64_t lastTag() const { return nextTag_ - 1; }

  static uint32_t typeOf(const Completion& completion) {
    return readWire<w::virtio_video_cmd_hdr>(completion.response)->type;
  }
  uint32_t sendForType(const std::vector<std::byte>& request) {
    auto done = send(request);
    EXPECT_EQ(done.size(), 1u);
    return done.empty() ? 0 : typeOf(done[0]);
  }

  std::vector<std::byte> createStream(uint32_t id = kStream, uint32_t format = w::VIRTIO_VIDEO_FORMAT_H264) {
    w::virtio_video_stream_create cmd{};
    cmd.hdr = {w::VIRTIO_VIDEO_CMD_STREAM_CREATE, id};
    cmd.in_mem_type = w::VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
    cmd.out_mem_type = w::VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
    cmd.coded_format = format;
    return toBytes(cmd);
  }
  std::vector<std::byte> setResourceType(uint32_t queue, uint32_t type, uint32_t stream = kStream) {
    w::virtio_video_set_params_ext cmd{};
    cmd.hdr = {w::VIRTIO_VIDEO_CMD_SET_PARAMS_EXT, stream};
    cmd.params.base.queue_type = queue;
    cmd.params.resource_type = type;
    return toBytes(cmd);
  }
  std::vector<std::byte> resourceCreate(uint32_t queue, uint32_t id, uint64_t gpa, uint32_t len,
                                        uint32_t stream = kStream) {
    w::virtio_video_resource_create cmd{};
    cmd.hdr = {w::VIRTIO_VIDEO_CMD_RESOURCE_CREATE, stream};
    cmd.queue_type = queue;
    cmd.resource_id = id;
    cmd.planes_layout = w::VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
    cmd.num_planes = 1;
    cmd.num_entries[0] = 1;
    auto bytes = toBytes(cmd);
    appendWire(bytes, w::virtio_video_mem_entry{gpa, len, {}});
    return bytes;
  }
  std::vector<std::byte> resourceQueue(uint32_t queue, uint32_t id, uint64_t ts, uint32_t size,
                                       uint32_t stream = kStream) {
    w::virtio_video_resource_queue cmd{};
    cmd.hdr = {w::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, stream};
    cmd.queue_type = queue;
    cmd.resource_id = id;
    cmd.timestamp = ts;
    cmd.num_data_sizes = 1;
    cmd.data_sizes[0] = size;
    return toBytes(cmd);
  }
  std::vector<std::byte> queueCommand(uint32_t type, uint32_t queue, uint32_t stream = kStream) {
    w::virtio_video_queue_cmd cmd{};
    cmd.hdr = {type, stream};
    cmd.queue_type = queue;
    return toBytes(cmd);
  }
  w::virtio_video_params_ext getParams(uint32_t queue) {
    auto done = send(queueCommand(w::VIRTIO_VIDEO_CMD_GET_PARAMS_EXT, queue));
    EXPECT_EQ(done.size(), 1u);
    auto resp = readWire<w::virtio_video_get_params_ext_resp>(done.at(0).response);
    EXPECT_TRUE(resp.has_value());
    return resp->params;
  }

  // Creates a stream with guest-page resources: input 100 at 1 MiB, outputs 1..2 at 4 MiB+.
  void startStream() {
    ASSERT_EQ(sendForType(createStream()), w::VIRTIO_VIDEO_RESP_OK_NODATA);
    ASSERT_EQ(sendForType(setResourceType(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 0)),
              w::VIRTIO_VIDEO_RESP_OK_NODATA);
    ASSERT_EQ(sendForType(setResourceType(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 0)),
              w::VIRTIO_VIDEO_RESP_OK_NODATA);
    ASSERT_EQ(sendForType(resourceCreate(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100,
                                         ram_.base + (1 << 20), 65536)),
              w::VIRTIO_VIDEO_RESP_OK_NODATA);
  }
  void emit(codecs::DecoderEvent event) {
    backend_->lastSession->emit(std::move(event));
    device_->processBackendEvents();
  }

  testing::TestGuestMemory ram_;
  std::shared_ptr<FakeDecoderBackend> backend_;
  std::unique_ptr<VideoDevice> device_;
  uint64_t nextTag_ = 1;
};

TEST_F(VideoDeviceTest, ConfigAndFeatures) {
  auto config = device_->config();
  EXPECT_GT(config.max_caps_length, 0u);
  EXPECT_GT(config.max_resp_length, 0u);
  EXPECT_STREQ(reinterpret_cast<const char*>(config.device_name), "vdec-ffmpeg");
  EXPECT_TRUE(device_->deviceFeatures() & (1u << w::VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES));
  EXPECT_TRUE(device_->deviceFeatures() & (1u << w::VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG));
}

TEST_F(VideoDeviceTest, QueryCapabilityListsCodecsAndFormats) {
  auto done = send(queueCommand(w::VIRTIO_VIDEO_CMD_QUERY_CAPABILITY,
                                w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 0));
  ASSERT_EQ(done.size(), 1u);
  auto header = readWire<w::virtio_video_query_capability_resp>(done[0].response);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->hdr.type, w::VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY);
  ASSERT_EQ(header->num_descs, 2u);
  EXPECT_EQ(done[0].response.size(), 16u + 2 * (24 + 40));
  auto desc = readWire<w::virtio_video_format_desc>(done[0].response, 16);
  EXPECT_EQ(desc->format, w::VIRTIO_VIDEO_FORMAT_H264);
  EXPECT_EQ(desc->mask, 0b111u);
  EXPECT_EQ(desc->num_frames, 1u);
  auto frame = readWire<w::virtio_video_format_frame>(done[0].response, 40);
  EXPECT_EQ(frame->width.step, 1u);
  EXPECT_LT(frame->width.min, frame->width.max);

  done = send(queueCommand(w::VIRTIO_VIDEO_CMD_QUERY_CAPABILITY, w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 0));
  header = readWire<w::virtio_video_query_capability_resp>(done[0].response);
  EXPECT_EQ(header->num_descs, 3u);
  desc = readWire<w::virtio_video_format_desc>(done[0].response, 16);
  EXPECT_EQ(desc->format, w::VIRTIO_VIDEO_FORMAT_NV12);
  EXPECT_EQ(desc->mask, 0b11u);
}

TEST_F(VideoDeviceTest, ResponseLargerThanGuestBufferIsAnError) {
  auto done = send(queueCommand(w::VIRTIO_VIDEO_CMD_QUERY_CAPABILITY,
                                w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 0), 64);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].response.size(), 8u);
  EXPECT_EQ(typeOf(done[0]), w::VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
}

TEST_F(VideoDeviceTest, StreamCommandsOnUnknownStream) {
  for (uint32_t type : {w::VIRTIO_VIDEO_CMD_QUEUE_CLEAR, w::VIRTIO_VIDEO_CMD_GET_PARAMS_EXT,
                        w::VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL, w::VIRTIO_VIDEO_CMD_GET_PARAMS}) {
    EXPECT_EQ(sendForType(queueCommand(type, w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 9)),
              w::VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
  }
  EXPECT_EQ(sendForType(toBytes(w::virtio_video_cmd_hdr{w::VIRTIO_VIDEO_CMD_STREAM_DESTROY, 9})),
            w::VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
  EXPECT_EQ(sendForType(toBytes(w::virtio_video_cmd_hdr{w::VIRTIO_VIDEO_CMD_STREAM_DRAIN, 9})),
            w::VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
}

// The driver files a GET_PARAMS(_EXT) reply under the reply's params.queue_type, whatever its
// type: an error reply names the queue that was asked for, at full length, so neither the
// other queue's format is wiped nor the request left waiting (guest-driver.md §6).
TEST_F(VideoDeviceTest, GetParamsErrorRepliesNameTheRequestedQueue) {
  for (uint32_t queue : {w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT}) {
    auto done = send(queueCommand(w::VIRTIO_VIDEO_CMD_GET_PARAMS_EXT, queue, 9));
    ASSERT_EQ(done.size(), 1u);
    ASSERT_EQ(done[0].response.size(), sizeof(w::virtio_video_get_params_ext_resp));
    auto ext = readWire<w::virtio_video_get_params_ext_resp>(done[0].response);
    EXPECT_EQ(ext->hdr.type, w::VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
    EXPECT_EQ(ext->params.base.queue_type, queue);

    done = send(queueCommand(w::VIRTIO_VIDEO_CMD_GET_PARAMS, queue, 9));
    ASSERT_EQ(done.size(), 1u);
    ASSERT_EQ(done[0].response.size(), sizeof(w::virtio_video_get_params_resp));
    auto base = readWire<w::virtio_video_get_params_resp>(done[0].response);
    EXPECT_EQ(base->params.queue_type, queue);
  }
  // A malformed request (queue_type out of range): full length, queue_type left 0.
  auto done = send(queueCommand(w::VIRTIO_VIDEO_CMD_GET_PARAMS_EXT, 0x7777, kStream));
  ASSERT_EQ(done.size(), 1u);
  ASSERT_EQ(done[0].response.size(), sizeof(w::virtio_video_get_params_ext_resp));
  EXPECT_EQ(readWire<w::virtio_video_get_params_ext_resp>(done[0].response)->params.base.queue_type,
            0u);
}

TEST_F(VideoDeviceTest, StreamCreateChecks) {
  EXPECT_EQ(sendForType(createStream()), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  EXPECT_EQ(sendForType(createStream()), w::VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
  EXPECT_EQ(sendForType(createStream(2, w::VIRTIO_VIDEO_FORMAT_MPEG2)),
            w::VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
  for (uint32_t id = 2; id <= 4; ++id) {
    EXPECT_EQ(sendForType(createStream(id)), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  }
  EXPECT_EQ(sendForType(createStream(5)), w::VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
}

// v4l2-compliance opens the node 100 times; each open is a STREAM_CREATE. With the default
// limits they all succeed, and an open stream that never decodes starts no decoder session.
TEST_F(VideoDeviceTest, HundredStreamsOpenAtOnceWithTheDefaults) {
  device_ = std::make_unique<VideoDevice>(DeviceConfig{}, backend_);
  device_->setGuestMemory(ram_.memory);
  for (uint32_t id = 1; id <= 100; ++id) {
    ASSERT_EQ(sendForType(createStream(id)), w::VIRTIO_VIDEO_RESP_OK_NODATA) << "stream " << id;
    ASSERT_EQ(sendForType(setResourceType(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 0, id)),
              w::VIRTIO_VIDEO_RESP_OK_NODATA);
  }
  EXPECT_EQ(backend_->sessionsCreated, 0);
  for (uint32_t id = 1; id <= 100; ++id) {
    EXPECT_EQ(sendForType(toBytes(w::virtio_video_cmd_hdr{w::VIRTIO_VIDEO_CMD_STREAM_DESTROY, id})),
              w::VIRTIO_VIDEO_RESP_OK_NODATA);
  }
}

// Streams that decode are bounded apart from streams that are open: over the bound the first
// input is refused in full with ERR (out of memory) and the stream gets an error event; the
// place comes back when a decoding stream is destroyed.
TEST_F(VideoDeviceTest, DecodingStreamsAreBoundedApartFromOpenStreams) {
  DeviceConfig config;
  config.maxStreams = 4;
  config.maxDecodingStreams = 1;
  device_ = std::make_unique<VideoDevice>(config, backend_);
  device_->setGuestMemory(ram_.memory);
  auto open = [&](uint32_t id) {
    ASSERT_EQ(sendForType(createStream(id)), w::VIRTIO_VIDEO_RESP_OK_NODATA);
    ASSERT_EQ(sendForType(setResourceType(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 0, id)),
              w::VIRTIO_VIDEO_RESP_OK_NODATA);
    ASSERT_EQ(sendForType(resourceCreate(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100,
                                         ram_.base + (1 << 20) + id * 65536, 65536, id)),
              w::VIRTIO_VIDEO_RESP_OK_NODATA);
  };
  open(1);
  open(2);
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 1, 4, 1)).empty());
  EXPECT_EQ(backend_->sessionsCreated, 1);

  auto refused = send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 1, 4, 2));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].response.size(), sizeof(w::virtio_video_resource_queue_resp));
  EXPECT_EQ(typeOf(refused[0]), w::VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
  auto resp = readWire<w::virtio_video_resource_queue_resp>(refused[0].response);
  EXPECT_EQ(resp->flags & w::VIRTIO_VIDEO_BUFFER_FLAG_ERR, w::VIRTIO_VIDEO_BUFFER_FLAG_ERR);
  ASSERT_TRUE(device_->hasPendingEvents());
  auto event = device_->popEvent();
  EXPECT_EQ(event.event_type, w::VIRTIO_VIDEO_EVENT_ERROR);
  EXPECT_EQ(event.stream_id, 2u);
  EXPECT_EQ(backend_->sessionsCreated, 1);

  // Destroying the decoding stream gives its place to the next stream that decodes.
  // (its pending input comes back with ERR first, then the destroy is answered)
  auto destroyed = send(toBytes(w::virtio_video_cmd_hdr{w::VIRTIO_VIDEO_CMD_STREAM_DESTROY, 1}));
  ASSERT_EQ(destroyed.size(), 2u);
  EXPECT_EQ(typeOf(destroyed.back()), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  open(3);
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 1, 4, 3)).empty());
  EXPECT_EQ(backend_->sessionsCreated, 2);
}

TEST_F(VideoDeviceTest, OpenTimeParamsAreValidForTheGuest) {
  ASSERT_EQ(sendForType(createStream()), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  auto in = getParams(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
  EXPECT_EQ(in.base.queue_type, w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
  EXPECT_EQ(in.base.format, w::VIRTIO_VIDEO_FORMAT_H264);
  EXPECT_EQ(in.base.num_planes, 1u);
  EXPECT_GT(in.base.plane_formats[0].plane_size, 0u);
  EXPECT_EQ(in.base.plane_formats[0].stride, 0u);
  EXPECT_EQ(in.resource_type, w::VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT);
  auto out = getParams(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
  EXPECT_EQ(out.base.queue_type, w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
  EXPECT_EQ(out.base.format, w::VIRTIO_VIDEO_FORMAT_NV12);
  EXPECT_EQ(out.base.num_planes, 2u);
  EXPECT_GE(out.base.plane_formats[0].stride, out.base.frame_width);
  EXPECT_EQ(out.base.plane_formats[1].plane_size, out.base.plane_formats[0].plane_size / 2);
  EXPECT_LE(out.base.min_buffers, 4u);
  EXPECT_GT(out.base.crop.width, 0u);
}

TEST_F(VideoDeviceTest, SetParamsSanitizesJunk) {
  ASSERT_EQ(sendForType(createStream()), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  w::virtio_video_set_params_ext junk;
  std::memset(&junk, 0xff, sizeof(junk));
  junk.hdr = {w::VIRTIO_VIDEO_CMD_SET_PARAMS_EXT, kStream};
  junk.params.base.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
  EXPECT_EQ(sendForType(toBytes(junk)), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  auto out = getParams(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
  EXPECT_EQ(out.base.format, w::VIRTIO_VIDEO_FORMAT_NV12);
  EXPECT_EQ(out.base.frame_width, 640u);
  EXPECT_EQ(out.resource_type, w::VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT);
  // I420 chosen by the guest gives three planes.
  w::virtio_video_set_params_ext set{};
  set.hdr = {w::VIRTIO_VIDEO_CMD_SET_PARAMS_EXT, kStream};
  set.params.base.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
  set.params.base.format = w::VIRTIO_VIDEO_FORMAT_YUV420;
  set.params.resource_type = w::VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
  EXPECT_EQ(sendForType(toBytes(set)), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  out = getParams(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
  EXPECT_EQ(out.base.format, w::VIRTIO_VIDEO_FORMAT_YUV420);
  EXPECT_EQ(out.base.num_planes, 3u);
  EXPECT_EQ(out.resource_type, w::VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES);
}

TEST_F(VideoDeviceTest, ResourceCreateRejectsBadGuestRanges) {
  startStream();
  struct Case {
    const char* name;
    uint64_t gpa;
    uint32_t len;
  } cases[] = {
      {"below RAM", 0x1000, 4096},
      {"past the end", ram_.base + ram_.size - 4096, 8192},
      {"zero length", ram_.base, 0},
      {"wraps 2^64", ~0ull - 100, 4096},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(sendForType(resourceCreate(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 1, c.gpa, c.len)),
              w::VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER)
        << c.name;
  }
}

TEST_F(VideoDeviceTest, DecodeFlowThroughTheStateMachine) {
  startStream();
  // The input bytes are copied out of guest memory at queue time.
  std::memcpy(ram_.host(ram_.base + (1 << 20)), "\x00\x00\x01\x65", 4);
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 1234, 4)).empty());
  const uint64_t inputTag = lastTag();
  auto* session = backend_->lastSession;
  ASSERT_NE(session, nullptr);
  ASSERT_EQ(session->decoded.size(), 1u);
  EXPECT_EQ(session->decoded[0].bytes, (std::vector<uint8_t>{0, 0, 1, 0x65}));
  EXPECT_EQ(session->decoded[0].timestamp, 1234u);
  // Input queued twice is refused.
  EXPECT_EQ(sendForType(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 1, 4)),
            w::VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);

  emit(codecs::InputDone{session->decoded[0].inputId});
  auto done = device_->takeCompletions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].tag, inputTag);
  EXPECT_EQ(typeOf(done[0]), w::VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE);

  // Resolution known: the event waits in the device until the transport takes it.
  emit(codecs::FormatChanged{{320, 240, {0, 0, 320, 240}, 6}});
  ASSERT_TRUE(device_->hasPendingEvents());
  auto event = device_->popEvent();
  EXPECT_EQ(event.event_type, w::VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED);
  EXPECT_EQ(event.stream_id, kStream);
  auto out = getParams(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
  EXPECT_EQ(out.base.frame_width, 320u);
  EXPECT_EQ(out.base.crop.height, 240u);
  EXPECT_EQ(out.base.min_buffers, 6u);
  const uint32_t frameBytes = out.base.plane_formats[0].plane_size + out.base.plane_formats[1].plane_size;

  ASSERT_EQ(sendForType(resourceCreate(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 1, ram_.base + (4 << 20), frameBytes)),
            w::VIRTIO_VIDEO_RESP_OK_NODATA);
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 1, 0, 0)).empty());
  const uint64_t outputTag = lastTag();
  ASSERT_TRUE(session->layout.has_value());
  EXPECT_EQ(session->layout->visible.width, 320u);
  ASSERT_EQ(session->outputs.size(), 1u);
  EXPECT_EQ(session->outputs[0].resourceId, 1u);

  emit(codecs::PictureReady{1, 1234, false, false, 0});
  done = device_->takeCompletions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].tag, outputTag);
  auto resp = readWire<w::virtio_video_resource_queue_resp>(done[0].response);
  EXPECT_EQ(resp->timestamp, 1234u);
  EXPECT_EQ(resp->flags, 0u);
  EXPECT_EQ(resp->size, frameBytes);

  // Drain: EOS on an extra empty buffer, then the drain answer.
  session->outputs.clear();
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 1, 0, 0)).empty());
  EXPECT_TRUE(send(toBytes(w::virtio_video_cmd_hdr{w::VIRTIO_VIDEO_CMD_STREAM_DRAIN, kStream})).empty());
  const uint64_t drainTag = lastTag();
  EXPECT_EQ(session->flushes, 1);
  emit(codecs::PictureReady{1, 0, false, true, 0});
  emit(codecs::FlushDone{});
  done = device_->takeCompletions();
  ASSERT_EQ(done.size(), 2u);
  resp = readWire<w::virtio_video_resource_queue_resp>(done[0].response);
  EXPECT_EQ(resp->flags, w::VIRTIO_VIDEO_BUFFER_FLAG_EOS);
  EXPECT_EQ(resp->size, 0u);
  EXPECT_EQ(done[1].tag, drainTag);
  EXPECT_EQ(typeOf(done[1]), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  EXPECT_EQ(device_->statistics().frames, 1u);
}

// A resolution change while a layout is in use (dev-decoder.rst "Dynamic resolution change"):
// the guest re-reads the params at once, but re-queuing the old CAPTURE buffers is not a new
// CAPTURE setup (v4l2-ctl does that while it waits for a LAST buffer). The new layout counts
// only after the output queue was set up again (here QUEUE_CLEAR(OUTPUT) + RESOURCE_CREATE).
TEST_F(VideoDeviceTest, MidStreamResolutionChangeWaitsForANewCaptureSetup) {
  startStream();
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 1, 4)).empty());
  auto* session = backend_->lastSession;
  ASSERT_NE(session, nullptr);
  emit(codecs::FormatChanged{{320, 240, {0, 0, 320, 240}, 6}});
  ASSERT_TRUE(device_->hasPendingEvents());
  device_->popEvent();
  getParams(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
  auto out = getParams(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
  const uint32_t smallBytes =
      out.base.plane_formats[0].plane_size + out.base.plane_formats[1].plane_size;
  ASSERT_EQ(sendForType(resourceCreate(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 1, ram_.base + (4 << 20),
                                       smallBytes)),
            w::VIRTIO_VIDEO_RESP_OK_NODATA);
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 1, 0, 0)).empty());
  ASSERT_TRUE(session->layout.has_value());
  EXPECT_EQ(session->layout->visible.width, 320u);
  emit(codecs::PictureReady{1, 1, false, false, 0});
  ASSERT_EQ(device_->takeCompletions().size(), 1u);

  // The new size: the guest reads both params (update_params) and re-queues the old buffer.
  emit(codecs::FormatChanged{{160, 120, {0, 0, 160, 120}, 6}});
  ASSERT_TRUE(device_->hasPendingEvents());
  EXPECT_EQ(device_->popEvent().event_type, w::VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED);
  getParams(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
  out = getParams(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
  EXPECT_EQ(out.base.frame_width, 160u);
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 1, 0, 0)).empty());
  EXPECT_EQ(session->layout->visible.width, 320u) << "old buffers re-queued: no new layout yet";

  // STREAMOFF(CAPTURE) + REQBUFS: the new layout is acknowledged by the next queued buffer.
  send(queueCommand(w::VIRTIO_VIDEO_CMD_QUEUE_CLEAR, w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT));
  device_->processBackendEvents();  // the fake session answers the clear at once
  device_->takeCompletions();
  ASSERT_EQ(sendForType(resourceCreate(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 2, ram_.base + (8 << 20),
                                       out.base.plane_formats[0].plane_size +
                                           out.base.plane_formats[1].plane_size)),
            w::VIRTIO_VIDEO_RESP_OK_NODATA);
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 2, 0, 0)).empty());
  EXPECT_EQ(session->layout->visible.width, 160u);
}

// QUEUE_CLEAR(OUTPUT) is answered when the session says the buffers are free (OutputCleared):
// the device thread does not wait for it and answers other commands meanwhile; the buffers come
// back with ERR before the reply.
TEST_F(VideoDeviceTest, QueueClearOutputReturnsBuffersBeforeTheReply) {
  startStream();
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 1, 16)).empty());
  for (uint32_t id = 1; id <= 2; ++id) {
    ASSERT_EQ(sendForType(resourceCreate(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, id,
                                         ram_.base + (id << 22), 1 << 20)),
              w::VIRTIO_VIDEO_RESP_OK_NODATA);
    EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, id, 0, 0)).empty());
  }
  testing::FakeDecoderSession* session = backend_->lastSession;
  session->holdClears = true;
  EXPECT_TRUE(send(queueCommand(w::VIRTIO_VIDEO_CMD_QUEUE_CLEAR, w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT))
                  .empty());
  EXPECT_EQ(session->clears, 1);
  // While the session finishes, the stream answers other commands at once.
  EXPECT_EQ(getParams(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT).base.queue_type,
            w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
  // A second clear of the same queue while one is pending is refused.
  EXPECT_EQ(sendForType(queueCommand(w::VIRTIO_VIDEO_CMD_QUEUE_CLEAR,
                                     w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT)),
            w::VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
  ASSERT_EQ(session->heldClears.size(), 1u);
  emit(codecs::OutputCleared{session->heldClears[0]});
  auto done = device_->takeCompletions();
  ASSERT_EQ(done.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    auto resp = readWire<w::virtio_video_resource_queue_resp>(done[i].response);
    EXPECT_EQ(resp->hdr.type, w::VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE);
    EXPECT_EQ(resp->flags, w::VIRTIO_VIDEO_BUFFER_FLAG_ERR);
  }
  EXPECT_EQ(typeOf(done[2]), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  // The stream stays usable: the buffer can be queued again.
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 1, 0, 0)).empty());
}

// The guest driver reads a failed RESOURCE_QUEUE's whole reply: flags must say ERR.
TEST_F(VideoDeviceTest, FailedResourceQueueRepliesInFullWithErr) {
  startStream();
  for (const auto& request : {resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 77, 5, 0),
                              resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 5, 1u << 30)}) {
    auto done = send(request);
    ASSERT_EQ(done.size(), 1u);
    ASSERT_EQ(done[0].response.size(), sizeof(w::virtio_video_resource_queue_resp));
    auto resp = readWire<w::virtio_video_resource_queue_resp>(done[0].response);
    EXPECT_NE(resp->hdr.type, w::VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE);
    EXPECT_EQ(resp->flags, w::VIRTIO_VIDEO_BUFFER_FLAG_ERR);
  }
  // Unknown stream: the same, from the device itself.
  auto request = resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 5, 16);
  reinterpret_cast<w::virtio_video_cmd_hdr*>(request.data())->stream_id = 9;
  auto done = send(request);
  ASSERT_EQ(done.size(), 1u);
  ASSERT_EQ(done[0].response.size(), sizeof(w::virtio_video_resource_queue_resp));
  EXPECT_EQ(readWire<w::virtio_video_resource_queue_resp>(done[0].response)->flags,
            w::VIRTIO_VIDEO_BUFFER_FLAG_ERR);
}

// Input queued after QUEUE_CLEAR(INPUT) but before the reset finished is not cancelled with it:
// it is decoded, answered when consumed, and keeps counting until then.
TEST_F(VideoDeviceTest, InputQueuedDuringAnInputClearSurvivesIt) {
  startStream();
  ASSERT_EQ(sendForType(resourceCreate(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 101,
                                       ram_.base + (2 << 20), 65536)),
            w::VIRTIO_VIDEO_RESP_OK_NODATA);
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 1, 16)).empty());
  EXPECT_TRUE(send(queueCommand(w::VIRTIO_VIDEO_CMD_QUEUE_CLEAR, w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT))
                  .empty());
  const uint64_t clearTag = lastTag();
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 101, 2, 16)).empty());
  const uint64_t laterTag = lastTag();
  auto* session = backend_->lastSession;
  ASSERT_EQ(session->decoded.size(), 2u);
  emit(codecs::ResetDone{{session->decoded[0].inputId}});
  auto done = device_->takeCompletions();
  ASSERT_EQ(done.size(), 2u);  // the first input with ERR, then the clear
  EXPECT_EQ(done[1].tag, clearTag);
  for (const Completion& c : done) EXPECT_NE(c.tag, laterTag);
  emit(codecs::InputDone{session->decoded[1].inputId});
  done = device_->takeCompletions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].tag, laterTag);
  EXPECT_EQ(readWire<w::virtio_video_resource_queue_resp>(done[0].response)->flags, 0u);
}

TEST_F(VideoDeviceTest, QueueClearInputCompletesWhenTheDecoderReset) {
  startStream();
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 5, 16)).empty());
  EXPECT_TRUE(send(queueCommand(w::VIRTIO_VIDEO_CMD_QUEUE_CLEAR, w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT)).empty());
  EXPECT_EQ(backend_->lastSession->resets, 1);
  emit(codecs::ResetDone{{backend_->lastSession->decoded[0].inputId}});
  auto done = device_->takeCompletions();
  ASSERT_EQ(done.size(), 2u);
  auto resp = readWire<w::virtio_video_resource_queue_resp>(done[0].response);
  EXPECT_EQ(resp->flags, w::VIRTIO_VIDEO_BUFFER_FLAG_ERR);
  EXPECT_EQ(typeOf(done[1]), w::VIRTIO_VIDEO_RESP_OK_NODATA);
}

TEST_F(VideoDeviceTest, StreamDestroyCompletesEverythingPending) {
  startStream();
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 5, 16)).empty());
  EXPECT_TRUE(send(toBytes(w::virtio_video_cmd_hdr{w::VIRTIO_VIDEO_CMD_STREAM_DRAIN, kStream})).empty());
  auto done = send(toBytes(w::virtio_video_cmd_hdr{w::VIRTIO_VIDEO_CMD_STREAM_DESTROY, kStream}));
  ASSERT_EQ(done.size(), 3u);  // input (ERR), drain (error), destroy (OK)
  EXPECT_EQ(typeOf(done[2]), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  // The id can be reused at once.
  EXPECT_EQ(sendForType(createStream()), w::VIRTIO_VIDEO_RESP_OK_NODATA);
}

TEST_F(VideoDeviceTest, WrongStateCommands) {
  startStream();
  // Drain before anything was decoded, queue of unknown resources, double destroy.
  EXPECT_EQ(sendForType(toBytes(w::virtio_video_cmd_hdr{w::VIRTIO_VIDEO_CMD_STREAM_DRAIN, kStream})),
            w::VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
  EXPECT_EQ(sendForType(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 55, 0, 4)),
            w::VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID);
  EXPECT_EQ(sendForType(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 55, 0, 0)),
            w::VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID);
  EXPECT_EQ(sendForType(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 0, 1 << 20)),
            w::VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
  EXPECT_EQ(sendForType(toBytes(w::virtio_video_cmd_hdr{w::VIRTIO_VIDEO_CMD_STREAM_DESTROY, kStream})),
            w::VIRTIO_VIDEO_RESP_OK_NODATA);
  EXPECT_EQ(sendForType(toBytes(w::virtio_video_cmd_hdr{w::VIRTIO_VIDEO_CMD_STREAM_DESTROY, kStream})),
            w::VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
}

TEST_F(VideoDeviceTest, ObjectResourcesWithoutResolverFailCleanly) {
  ASSERT_EQ(sendForType(createStream()), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  w::virtio_video_resource_create cmd{};
  cmd.hdr = {w::VIRTIO_VIDEO_CMD_RESOURCE_CREATE, kStream};
  cmd.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
  cmd.resource_id = 1;
  cmd.planes_layout = w::VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
  cmd.num_planes = 1;
  cmd.num_entries[0] = 1;
  auto bytes = toBytes(cmd);
  bytes.resize(bytes.size() + 16);
  EXPECT_EQ(sendForType(bytes), w::VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
}

TEST_F(VideoDeviceTest, ControlsAnswerFromCapabilities) {
  ASSERT_EQ(sendForType(createStream()), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  w::virtio_video_get_control get{};
  get.hdr = {w::VIRTIO_VIDEO_CMD_GET_CONTROL, kStream};
  get.control = w::VIRTIO_VIDEO_CONTROL_PROFILE;
  auto done = send(toBytes(get));
  auto resp = readWire<w::virtio_video_get_control_resp>(done.at(0).response);
  EXPECT_EQ(resp->hdr.type, w::VIRTIO_VIDEO_RESP_OK_GET_CONTROL);
  EXPECT_EQ(resp->value, 0x100u);
  get.control = w::VIRTIO_VIDEO_CONTROL_BITRATE;
  EXPECT_EQ(sendForType(toBytes(get)), w::VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL);

  w::virtio_video_query_control query{};
  query.hdr = {w::VIRTIO_VIDEO_CMD_QUERY_CONTROL, 0};
  query.control = w::VIRTIO_VIDEO_CONTROL_LEVEL;
  auto bytes = toBytes(query);
  appendWire(bytes, w::virtio_video_query_control_format{w::VIRTIO_VIDEO_FORMAT_H264, {}});
  done = send(bytes);
  auto q = readWire<w::virtio_video_query_control_resp>(done.at(0).response);
  EXPECT_EQ(q->num, 2u);
  EXPECT_EQ(done[0].response.size(), 16u + 8);
  const auto respSize = sizeof(w::virtio_video_query_control_resp);
  EXPECT_EQ(*readWire<uint32_t>(done[0].response, respSize), w::VIRTIO_VIDEO_LEVEL_H264_1_0);
  EXPECT_EQ(*readWire<uint32_t>(done[0].response, respSize + 4), w::VIRTIO_VIDEO_LEVEL_H264_5_1);
}

TEST_F(VideoDeviceTest, ResetDropsEverything) {
  startStream();
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 5, 16)).empty());
  device_->reset();
  EXPECT_TRUE(device_->takeCompletions().empty());
  device_->setGuestMemory(ram_.memory);
  EXPECT_EQ(sendForType(createStream()), w::VIRTIO_VIDEO_RESP_OK_NODATA);
}

}  // namespace
}  // namespace vdec

namespace vdec {
namespace {

TEST_F(VideoDeviceTest, PendingInputBytesAreBounded) {
  DeviceConfig config;
  config.maxPendingInputBytes = 100 + Stream::kInputEntryCost;  // one 80-byte input
  device_ = std::make_unique<VideoDevice>(config, backend_);
  device_->setGuestMemory(ram_.memory);
  startStream();
  ASSERT_EQ(sendForType(resourceCreate(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 101,
                                       ram_.base + (2 << 20), 65536)),
            w::VIRTIO_VIDEO_RESP_OK_NODATA);
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 1, 80)).empty());
  EXPECT_EQ(sendForType(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 101, 2, 80)),
            w::VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
  // Returned early by DESTROY_ALL, the copy still counts until the decoder consumed it.
  auto done = send(queueCommand(w::VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL,
                                w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT));
  ASSERT_EQ(done.size(), 2u);
  ASSERT_EQ(sendForType(resourceCreate(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100,
                                       ram_.base + (1 << 20), 65536)),
            w::VIRTIO_VIDEO_RESP_OK_NODATA);
  EXPECT_EQ(sendForType(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 3, 80)),
            w::VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
  emit(codecs::InputDone{backend_->lastSession->decoded[0].inputId});
  EXPECT_TRUE(device_->takeCompletions().empty());  // already answered
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 3, 80)).empty());
}

// Issue 10 finding 5, as attacked: 60 inputs queued with 1 byte each, RESOURCE_DESTROY_ALL(INPUT),
// in a loop, while the session never consumes anything (the output layout is never
// acknowledged). Each entry used to count 1 byte of the 64 MiB limit (64 Mi entries, ~185 bytes
// of heap each) and DESTROY_ALL walked every entry ever queued. Now the stream takes at most
// maxPendingInputs, each charged kInputEntryCost besides its byte, and refuses the rest with
// ERR_OUT_OF_MEMORY in a full RESOURCE_QUEUE response.
TEST_F(VideoDeviceTest, TinyInputsQueuedAndDestroyedInALoopStayBounded) {
  DeviceConfig config;
  restart(config);
  startStream();
  uint64_t accepted = 0;
  uint64_t refused = 0;
  for (int round = 0; round < 40; ++round) {
    for (uint32_t id = 1; id <= 60; ++id) {
      ASSERT_EQ(sendForType(resourceCreate(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, id,
                                           ram_.base + (1 << 20), 4096)),
                w::VIRTIO_VIDEO_RESP_OK_NODATA);
    }
    for (uint32_t id = 1; id <= 60; ++id) {
      auto done = send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, id, id, 1));
      if (done.empty()) {
        ++accepted;
        continue;
      }
      ASSERT_EQ(done.size(), 1u);
      ASSERT_EQ(done[0].response.size(), sizeof(w::virtio_video_resource_queue_resp));
      EXPECT_EQ(typeOf(done[0]), w::VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
      ++refused;
    }
    // Every input still queued comes back (with ERR), then the DESTROY_ALL itself.
    auto done = send(
        queueCommand(w::VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL, w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT));
    ASSERT_FALSE(done.empty());
    EXPECT_EQ(typeOf(done.back()), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  }
  EXPECT_EQ(accepted, config.maxPendingInputs);
  EXPECT_EQ(refused, 40u * 60 - config.maxPendingInputs);
  EXPECT_EQ(backend_->lastSession->decoded.size(), config.maxPendingInputs);
}

// Issue 10 finding 6: resource entry tables and copied input are charged to the stream's share
// of the memory budget before they are allocated; over it is ERR_OUT_OF_MEMORY for that command,
// and what was charged comes back when it goes.
TEST_F(VideoDeviceTest, ResourceTablesAndInputAreChargedToTheStreamBudget) {
  DeviceConfig config;
  config.maxStreamMemory = 64 << 10;
  restart(config);
  startStream();  // input 100: one entry
  // 1024 entries cost 1 KiB + 64 KiB: over the 64 KiB share.
  w::virtio_video_resource_create create{};
  create.hdr = {w::VIRTIO_VIDEO_CMD_RESOURCE_CREATE, kStream};
  create.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
  create.resource_id = 1;
  create.planes_layout = w::VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
  create.num_planes = 1;
  create.num_entries[0] = 1024;
  auto bytes = toBytes(create);
  for (uint64_t i = 0; i < 1024; ++i) {
    appendWire(bytes, w::virtio_video_mem_entry{ram_.base + (4 << 20) + i * 8192, 4096, {}});
  }
  EXPECT_EQ(sendForType(bytes), w::VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
  // The input copy: 60000 bytes + 256 fit in what is left, a second one does not.
  ASSERT_EQ(sendForType(resourceCreate(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 101, ram_.base + (2 << 20),
                                       65536)),
            w::VIRTIO_VIDEO_RESP_OK_NODATA);
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 1, 60000)).empty());
  auto done = send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 101, 2, 4000));
  ASSERT_EQ(done.size(), 1u);
  ASSERT_EQ(done[0].response.size(), sizeof(w::virtio_video_resource_queue_resp));
  EXPECT_EQ(typeOf(done[0]), w::VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
  EXPECT_EQ(
      device_->memoryBudget()->used(),
      60000 + Stream::kInputEntryCost + 2 * (Stream::kResourceCost + Stream::kResourceEntryCost));
  // Consumed: the copy's charge comes back and the next input fits.
  emit(codecs::InputDone{backend_->lastSession->decoded[0].inputId});
  EXPECT_EQ(device_->takeCompletions().size(), 1u);
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 101, 2, 4000)).empty());
  // Destroyed: everything the stream held is given back to the daemon.
  send(toBytes(w::virtio_video_cmd_hdr{w::VIRTIO_VIDEO_CMD_STREAM_DESTROY, kStream}));
  EXPECT_EQ(device_->memoryBudget()->used(), 0u);
}

// The daemon's budget bounds the streams together, whatever each one's share.
TEST_F(VideoDeviceTest, TheDaemonBudgetBoundsAllStreams) {
  DeviceConfig config;
  config.maxMemory = 100 << 10;
  config.maxStreamMemory = 64 << 10;
  restart(config);
  startStream();
  EXPECT_TRUE(send(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 100, 1, 60000)).empty());
  constexpr uint32_t kSecond = 2;
  ASSERT_EQ(sendForType(createStream(kSecond)), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  w::virtio_video_resource_queue queue{};
  queue.hdr = {w::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, kSecond};
  queue.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
  queue.resource_id = 1;
  queue.num_data_sizes = 1;
  queue.data_sizes[0] = 60000;
  // An object resource needs a resolver: create it as guest pages instead.
  w::virtio_video_set_params_ext params{};
  params.hdr = {w::VIRTIO_VIDEO_CMD_SET_PARAMS_EXT, kSecond};
  params.params.base.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
  params.params.resource_type = w::VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
  ASSERT_EQ(sendForType(toBytes(params)), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  w::virtio_video_resource_create create{};
  create.hdr = {w::VIRTIO_VIDEO_CMD_RESOURCE_CREATE, kSecond};
  create.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
  create.resource_id = 1;
  create.planes_layout = w::VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
  create.num_planes = 1;
  create.num_entries[0] = 1;
  auto bytes = toBytes(create);
  appendWire(bytes, w::virtio_video_mem_entry{ram_.base + (3 << 20), 65536, {}});
  ASSERT_EQ(sendForType(bytes), w::VIRTIO_VIDEO_RESP_OK_NODATA);
  auto done = send(toBytes(queue));  // within its share, over the daemon's budget
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(typeOf(done[0]), w::VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
}

// A command the transport cannot keep is answered with the protocol's error for its type.
TEST_F(VideoDeviceTest, OutOfMemoryResponseHasTheCommandsShape) {
  auto response =
      device_->outOfMemoryResponse(resourceQueue(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, 0, 1));
  ASSERT_EQ(response.size(), sizeof(w::virtio_video_resource_queue_resp));
  EXPECT_EQ(readWire<w::virtio_video_cmd_hdr>(response)->type,
            w::VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
  EXPECT_EQ(readWire<w::virtio_video_cmd_hdr>(response)->stream_id, kStream);
  EXPECT_FALSE(device_->outOfMemoryResponse({}).empty());  // too short to parse: a bare header
  // GET_PARAMS_EXT names the queue it asked about, as every error reply of it does.
  response = device_->outOfMemoryResponse(
      queueCommand(w::VIRTIO_VIDEO_CMD_GET_PARAMS_EXT, w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT));
  auto params = readWire<w::virtio_video_get_params_ext_resp>(response);
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->params.base.queue_type, w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
}

}  // namespace
}  // namespace vdec
