// SPDX-License-Identifier: MIT
// Malformed input through the real daemon over vhost-user: every command code with short, long
// and garbage payloads, bad ids, hostile guest addresses, commands in the wrong state. Each case
// expects the protocol's error response, and the device must still decode correctly afterwards.
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "samples/harness/bitstream_reader.h"
#include "samples/harness/decode_runner.h"
#include "samples/harness/frame_sink.h"
#include "samples/harness/video_driver.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/process_stats.h"
#include "tests/test_paths.h"
#include "vdec/base/wire.h"

namespace vdec::testing {
namespace {
namespace w = wire;
using harness::VideoDriver;

constexpr uint32_t kStream = 7;

class MalformedInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { daemon_ = new DaemonProcess(); }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
  }
  void SetUp() override {
    harness::DriverOptions options;
    options.socketPath = daemon_->socketPath();
    auto driver = VideoDriver::connect(options);
    ASSERT_TRUE(driver.has_value()) << driver.error().message;
    driver_ = std::move(*driver);
  }
  // Every case ends by proving the device still decodes bit-exactly on the same connection.
  void TearDown() override {
    if (!driver_) return;
    auto input = harness::BitstreamReader::open(samplesDir() + "/data/testsrc2-320x180.h264", {});
    ASSERT_TRUE(input.has_value());
    auto sink = harness::FrameSink::create({});
    ASSERT_TRUE(sink.has_value());
    harness::DecodeOptions options;
    options.streamId = 99;
    harness::DecodeRunner runner(*driver_, options);
    auto summary = runner.run(*input, *sink);
    ASSERT_TRUE(summary.has_value()) << summary.error().message;
    EXPECT_EQ(sink->frameMd5s(), readLines(samplesDir() + "/data/testsrc2-320x180.h264.md5"));
    EXPECT_TRUE(daemon_->running());
  }

  uint32_t raw(const std::vector<std::byte>& request, const std::vector<std::byte>& extra = {},
               size_t capacity = 4096) {
    auto response = driver_->rawCommand(request, extra, capacity);
    EXPECT_TRUE(response.has_value()) << (response ? "" : response.error().message);
    if (!response || response->size() < 8) return 0;
    return readWire<w::virtio_video_cmd_hdr>(*response)->type;
  }
  void createStream() {
    ASSERT_TRUE(driver_->streamCreate(kStream, w::VIRTIO_VIDEO_FORMAT_H264).has_value());
  }
  void useGuestPages(uint32_t queue) {
    w::virtio_video_params_ext params{};
    params.base.queue_type = queue;
    params.resource_type = w::VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
    ASSERT_TRUE(driver_->setParams(kStream, params).has_value());
  }
  std::vector<std::byte> resourceCreate(uint32_t queue, uint32_t id,
                                        const std::vector<w::virtio_video_mem_entry>& entries,
                                        uint32_t numEntries) {
    w::virtio_video_resource_create cmd{};
    cmd.hdr = {w::VIRTIO_VIDEO_CMD_RESOURCE_CREATE, kStream};
    cmd.queue_type = queue;
    cmd.resource_id = id;
    cmd.planes_layout = w::VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
    cmd.num_planes = 1;
    cmd.num_entries[0] = numEntries;
    auto bytes = toBytes(cmd);
    for (const auto& e : entries) appendWire(bytes, e);
    return bytes;
  }

  static DaemonProcess* daemon_;
  std::unique_ptr<VideoDriver> driver_;
};
DaemonProcess* MalformedInputTest::daemon_ = nullptr;

// The size each command must have (RESOURCE_CREATE: the fixed part; entries follow).
struct CommandShape {
  uint32_t type;
  size_t size;
};
constexpr CommandShape kShapes[] = {
    {w::VIRTIO_VIDEO_CMD_QUERY_CAPABILITY, 16}, {w::VIRTIO_VIDEO_CMD_STREAM_CREATE, 88},
    {w::VIRTIO_VIDEO_CMD_STREAM_DESTROY, 8},    {w::VIRTIO_VIDEO_CMD_STREAM_DRAIN, 8},
    {w::VIRTIO_VIDEO_CMD_RESOURCE_CREATE, 88},  {w::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, 64},
    {w::VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL, 16}, {w::VIRTIO_VIDEO_CMD_QUEUE_CLEAR, 16},
    {w::VIRTIO_VIDEO_CMD_GET_PARAMS, 16},       {w::VIRTIO_VIDEO_CMD_SET_PARAMS, 120},
    {w::VIRTIO_VIDEO_CMD_QUERY_CONTROL, 24},    {w::VIRTIO_VIDEO_CMD_GET_CONTROL, 16},
    {w::VIRTIO_VIDEO_CMD_SET_CONTROL, 24},      {w::VIRTIO_VIDEO_CMD_GET_PARAMS_EXT, 16},
    {w::VIRTIO_VIDEO_CMD_SET_PARAMS_EXT, 128},
};


TEST_F(MalformedInputTest, EveryCommandShortLongAndGarbage) {
  createStream();
  std::mt19937 random(42);
  for (const auto& shape : kShapes) {
    SCOPED_TRACE(shape.type);
    std::vector<std::byte> good(shape.size, std::byte{0});
    std::memcpy(good.data(), &shape.type, 4);
    std::memcpy(good.data() + 4, &kStream, 4);
    // Short: header only, or cut in the middle.
    for (size_t size : {size_t{8}, shape.size / 2, shape.size - 1}) {
      if (size >= shape.size || size < 8) continue;
      std::vector<std::byte> cut(good.begin(), good.begin() + static_cast<long>(size));
      EXPECT_EQ(raw(cut), w::VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER) << "short " << size;
    }
    // Shorter than a header.
    EXPECT_EQ(raw({good.begin(), good.begin() + 5}), w::VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    // Long: fixed-size commands refuse extra bytes (RESOURCE_CREATE takes them as entries).
    if (shape.type != w::VIRTIO_VIDEO_CMD_RESOURCE_CREATE) {
      auto longer = good;
      longer.resize(shape.size + 40);
      EXPECT_EQ(raw(longer), w::VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER) << "long";
    }
    // Garbage payload at the right size: any answer is fine as long as it is an answer.
    for (int round = 0; round < 8; ++round) {
      auto garbage = good;
      for (size_t i = 8; i < garbage.size(); ++i) garbage[i] = std::byte(random());
      if (shape.type == w::VIRTIO_VIDEO_CMD_STREAM_CREATE ||
          shape.type == w::VIRTIO_VIDEO_CMD_STREAM_DESTROY) {
        continue;  // would create/destroy our stream; covered by their own cases
      }
      uint32_t type = raw(garbage, {}, 4096);
      EXPECT_TRUE(type >= 0x200 && type <= 0x305) << std::hex << type;
    }
  }
}

// v4l2-compliance's "unlimited opens": 100 STREAM_CREATEs at once succeed with the default
// limits, and open streams that never decode start no thread (the daemon's thread count does
// not grow); a stream decodes bit-exactly beside them (TearDown), and they all go away.
TEST_F(MalformedInputTest, HundredStreamsOpenAtOnceWithoutThreads) {
  const uint64_t threadsBefore = readProcessStats(daemon_->pid()).threads;
  for (uint32_t id = 1000; id < 1100; ++id) {
    auto status = driver_->streamCreate(id, w::VIRTIO_VIDEO_FORMAT_H264);
    ASSERT_TRUE(status) << "stream " << id << ": " << status.error().message;
  }
  EXPECT_EQ(readProcessStats(daemon_->pid()).threads, threadsBefore);
  for (uint32_t id = 1000; id < 1100; ++id) {
    auto status = driver_->streamDestroy(id);
    ASSERT_TRUE(status) << "stream " << id << ": " << status.error().message;
  }
}

TEST_F(MalformedInputTest, UnknownCommandTypes) {
  for (uint32_t type : {0u, 0x99u, 0x10Fu, 0x200u, 0xdeadbeefu}) {
    EXPECT_EQ(raw(toBytes(w::virtio_video_cmd_hdr{type, kStream})),
              w::VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
  }
}

TEST_F(MalformedInputTest, UnknownStreamResourceAndQueueIds) {
  w::virtio_video_queue_cmd clear{};
  clear.hdr = {w::VIRTIO_VIDEO_CMD_QUEUE_CLEAR, 4242};
  clear.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
  EXPECT_EQ(raw(toBytes(clear)), w::VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
  createStream();
  clear.hdr.stream_id = kStream;
  clear.queue_type = 0x105;
  EXPECT_EQ(raw(toBytes(clear)), w::VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
  w::virtio_video_resource_queue queue{};
  queue.hdr = {w::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, kStream};
  queue.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
  queue.resource_id = 31337;
  EXPECT_EQ(raw(toBytes(queue)), w::VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID);
  queue.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
  EXPECT_EQ(raw(toBytes(queue)), w::VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID);
}

TEST_F(MalformedInputTest, HostileGuestAddresses) {
  createStream();
  useGuestPages(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
  const uint64_t ramBase = driver_->ram().base();
  const uint64_t ramEnd = ramBase + driver_->ram().size();
  struct Case {
    const char* name;
    std::vector<w::virtio_video_mem_entry> entries;
  } cases[] = {
      {"below RAM", {{0x1000, 4096, {}}}},
      {"past the end", {{ramEnd - 4096, 8192, {}}}},
      {"wraps 2^64", {{~0ull - 2047, 4096, {}}}},
      {"zero length", {{ramBase, 0, {}}}},
      {"overlapping entries", {{ramBase + 65536, 8192, {}}, {ramBase + 69632, 8192, {}}}},
      {"second entry outside", {{ramBase, 4096, {}}, {ramEnd, 4096, {}}}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(raw(resourceCreate(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 1, {},
                                 static_cast<uint32_t>(c.entries.size())),
                  [&] {
                    std::vector<std::byte> extra;
                    for (const auto& e : c.entries) appendWire(extra, e);
                    return extra;
                  }()),
              w::VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER)
        << c.name;
  }
}

TEST_F(MalformedInputTest, HugeEntryCounts) {
  createStream();
  useGuestPages(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
  std::vector<std::byte> extra;
  appendWire(extra, w::virtio_video_mem_entry{driver_->ram().base(), 4096, {}});
  for (uint32_t count : {2u, 100000u, 0x7fffffffu, 0xffffffffu}) {
    EXPECT_EQ(raw(resourceCreate(w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 1, {}, count), extra),
              w::VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER)
        << count;
  }
}

TEST_F(MalformedInputTest, WrongStateCommands) {
  // Queue before create.
  w::virtio_video_resource_queue queue{};
  queue.hdr = {w::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, kStream};
  queue.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
  queue.resource_id = 1;
  EXPECT_EQ(raw(toBytes(queue)), w::VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
  createStream();
  // Drain with nothing decoded.
  EXPECT_EQ(raw(toBytes(w::virtio_video_cmd_hdr{w::VIRTIO_VIDEO_CMD_STREAM_DRAIN, kStream})),
            w::VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
  // Input queue of a resource that does not exist yet, then with a size beyond the resource.
  EXPECT_EQ(raw(toBytes(queue)), w::VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID);
  useGuestPages(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
  auto range = driver_->ram().allocContiguous(65536);
  ASSERT_TRUE(range.has_value());
  ASSERT_TRUE(driver_->resourceCreateGuestPages(kStream, w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1,
                                                {*range})
                  .has_value());
  queue.num_data_sizes = 1;
  queue.data_sizes[0] = 65537;
  EXPECT_EQ(raw(toBytes(queue)), w::VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
  // Clear during decode and destroy during drain: answered, stream usable or gone cleanly.
  std::vector<std::byte> bitstream(4096, std::byte{0});
  driver_->ram().write({*range}, 0, bitstream);
  ASSERT_TRUE(driver_->resourceQueue(kStream, w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, 5, 4096)
                  .has_value());
  EXPECT_TRUE(driver_->queueClear(kStream, w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT).has_value());
  ASSERT_TRUE(driver_->resourceQueue(kStream, w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, 6, 4096)
                  .has_value());
  ASSERT_TRUE(driver_->streamDrain(kStream).has_value());
  EXPECT_TRUE(driver_->streamDestroy(kStream).has_value());
  // Double destroy.
  auto again = driver_->streamDestroy(kStream);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidStreamId);
  // Drain the asynchronous completions the destroy produced.
  (void)driver_->waitActivity(std::chrono::milliseconds(200));
}

TEST_F(MalformedInputTest, ResourceCreateAfterStreamingReplacesTheResource) {
  createStream();
  useGuestPages(w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
  auto a = driver_->ram().allocContiguous(65536);
  auto b = driver_->ram().allocContiguous(65536);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(driver_->resourceCreateGuestPages(kStream, w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, {*a})
                  .has_value());
  ASSERT_TRUE(driver_->resourceQueue(kStream, w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, 5, 100)
                  .has_value());
  // The real guest re-creates known ids with new memory (REQBUFS re-allocation).
  EXPECT_TRUE(driver_->resourceCreateGuestPages(kStream, w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, {*b})
                  .has_value());
  EXPECT_TRUE(driver_->streamDestroy(kStream).has_value());
  (void)driver_->waitActivity(std::chrono::milliseconds(200));
}

}  // namespace
}  // namespace vdec::testing
