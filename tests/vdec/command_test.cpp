// SPDX-License-Identifier: MIT
#include "vdec/command.h"

#include <cstring>

#include <gtest/gtest.h>

#include "vdec/base/wire.h"

namespace vdec {
namespace {
namespace w = wire;

template <typename T>
std::vector<std::byte> bytesOf(const T& value) {
  return toBytes(value);
}

w::virtio_video_queue_cmd queueCmd(uint32_t type, uint32_t queue) {
  w::virtio_video_queue_cmd cmd{};
  cmd.hdr = {type, 1};
  cmd.queue_type = queue;
  return cmd;
}

w::virtio_video_resource_create resourceCreate(uint32_t planes, uint32_t entries) {
  w::virtio_video_resource_create cmd{};
  cmd.hdr = {w::VIRTIO_VIDEO_CMD_RESOURCE_CREATE, 1};
  cmd.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
  cmd.resource_id = 7;
  cmd.planes_layout = w::VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER;
  cmd.num_planes = planes;
  cmd.num_entries[0] = entries;
  return cmd;
}

// Every command at its exact size parses; one byte less or more does not.
struct SizedCommand {
  const char* name;
  std::vector<std::byte> bytes;
};

std::vector<SizedCommand> validCommands() {
  std::vector<SizedCommand> all;
  all.push_back({"QUERY_CAPABILITY",
                 bytesOf(queueCmd(w::VIRTIO_VIDEO_CMD_QUERY_CAPABILITY,
                                  w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT))});
  w::virtio_video_stream_create create{};
  create.hdr = {w::VIRTIO_VIDEO_CMD_STREAM_CREATE, 1};
  create.coded_format = w::VIRTIO_VIDEO_FORMAT_H264;
  create.in_mem_type = w::VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
  all.push_back({"STREAM_CREATE", bytesOf(create)});
  all.push_back({"STREAM_DESTROY", bytesOf(w::virtio_video_cmd_hdr{w::VIRTIO_VIDEO_CMD_STREAM_DESTROY, 1})});
  all.push_back({"STREAM_DRAIN", bytesOf(w::virtio_video_cmd_hdr{w::VIRTIO_VIDEO_CMD_STREAM_DRAIN, 1})});
  w::virtio_video_resource_queue queue{};
  queue.hdr = {w::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, 1};
  queue.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
  queue.num_data_sizes = 1;
  all.push_back({"RESOURCE_QUEUE", bytesOf(queue)});
  for (uint32_t type : {w::VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL, w::VIRTIO_VIDEO_CMD_QUEUE_CLEAR,
                        w::VIRTIO_VIDEO_CMD_GET_PARAMS, w::VIRTIO_VIDEO_CMD_GET_PARAMS_EXT}) {
    all.push_back({commandName(type), bytesOf(queueCmd(type, w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT))});
  }
  w::virtio_video_set_params set{};
  set.hdr = {w::VIRTIO_VIDEO_CMD_SET_PARAMS, 1};
  set.params.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
  all.push_back({"SET_PARAMS", bytesOf(set)});
  w::virtio_video_set_params_ext setExt{};
  setExt.hdr = {w::VIRTIO_VIDEO_CMD_SET_PARAMS_EXT, 1};
  setExt.params.base.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
  all.push_back({"SET_PARAMS_EXT", bytesOf(setExt)});
  w::virtio_video_get_control get{};
  get.hdr = {w::VIRTIO_VIDEO_CMD_GET_CONTROL, 1};
  get.control = w::VIRTIO_VIDEO_CONTROL_PROFILE;
  all.push_back({"GET_CONTROL", bytesOf(get)});
  w::virtio_video_set_control setControl{};
  setControl.hdr = {w::VIRTIO_VIDEO_CMD_SET_CONTROL, 1};
  all.push_back({"SET_CONTROL", bytesOf(setControl)});
  return all;
}

TEST(CommandTest, EveryCommandParsesAtItsExactSize) {
  for (const auto& command : validCommands()) {
    auto parsed = parseCommand(command.bytes, {});
    EXPECT_TRUE(parsed.has_value()) << command.name << ": " << parsed.error().message;
  }
}

TEST(CommandTest, ShortAndOversizedCommandsAreInvalidParameter) {
  for (const auto& command : validCommands()) {
    auto shorter = command.bytes;
    shorter.pop_back();
    auto parsed = parseCommand(shorter, {});
    ASSERT_FALSE(parsed.has_value()) << command.name;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidParameter) << command.name;

    auto longer = command.bytes;
    longer.resize(longer.size() + 8);
    parsed = parseCommand(longer, {});
    ASSERT_FALSE(parsed.has_value()) << command.name;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidParameter) << command.name;
  }
}

TEST(CommandTest, HeaderShorterThanEightBytesFails) {
  for (size_t size = 0; size < 8; ++size) {
    std::vector<std::byte> bytes(size, std::byte{0x01});
    auto parsed = parseCommand(bytes, {});
    ASSERT_FALSE(parsed.has_value());
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidParameter);
  }
}

TEST(CommandTest, UnknownTypeIsInvalidOperationAndReportsHeader) {
  for (uint32_t type : {0u, 0xffu, 0x10Fu, 0x200u, 0xffffffffu}) {
    w::virtio_video_cmd_hdr hdr{type, 42};
    w::virtio_video_cmd_hdr seen{};
    auto parsed = parseCommand(bytesOf(hdr), {}, &seen);
    ASSERT_FALSE(parsed.has_value());
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidOperation);
    EXPECT_EQ(seen.stream_id, 42u);
  }
}

TEST(CommandTest, QueueTypeOutOfRange) {
  for (uint32_t queue : {0u, 0xffu, 0x102u, 0xffffffffu}) {
    auto parsed = parseCommand(bytesOf(queueCmd(w::VIRTIO_VIDEO_CMD_QUEUE_CLEAR, queue)), {});
    ASSERT_FALSE(parsed.has_value());
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidParameter);
  }
}

TEST(CommandTest, StreamCreateMemoryTypeOutOfRange) {
  w::virtio_video_stream_create create{};
  create.hdr = {w::VIRTIO_VIDEO_CMD_STREAM_CREATE, 1};
  create.out_mem_type = 2;
  auto parsed = parseCommand(bytesOf(create), {});
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidParameter);
}

TEST(CommandTest, StreamCreateTagIsBounded) {
  w::virtio_video_stream_create create{};
  create.hdr = {w::VIRTIO_VIDEO_CMD_STREAM_CREATE, 1};
  std::memset(create.tag, 'x', sizeof(create.tag));  // no terminating NUL
  auto parsed = parseCommand(bytesOf(create), {});
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(std::get<StreamCreateCmd>(parsed->body).tag.size(), 64u);
}

TEST(CommandTest, ResourceCreateWithEntries) {
  auto bytes = bytesOf(resourceCreate(1, 2));
  bytes.resize(bytes.size() + 32);
  auto parsed = parseCommand(bytes, {});
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  const auto& cmd = std::get<ResourceCreateCmd>(parsed->body);
  EXPECT_EQ(cmd.resourceId, 7u);
  EXPECT_EQ(cmd.totalEntries, 2u);
  EXPECT_EQ(cmd.guestRanges.size(), 2u);
}

TEST(CommandTest, ResourceCreateEntriesAreDecodedByTheParser) {
  auto bytes = bytesOf(resourceCreate(1, 2));
  const size_t fixed = bytes.size();
  w::virtio_video_mem_entry first{0x1000, 0x2000, {}};
  w::virtio_video_mem_entry second{0xffff'ffff'ffff'f000ull, 0xffff'ffff, {}};  // wraps: kept as sent
  bytes.resize(fixed + 32);
  std::memcpy(bytes.data() + fixed, &first, 16);
  std::memcpy(bytes.data() + fixed + 16, &second, 16);
  auto parsed = parseCommand(bytes, {});
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  const auto& cmd = std::get<ResourceCreateCmd>(parsed->body);
  ASSERT_EQ(cmd.guestRanges.size(), 2u);
  EXPECT_EQ(cmd.guestRanges[0].address.value, 0x1000u);
  EXPECT_EQ(cmd.guestRanges[0].length, 0x2000u);
  EXPECT_EQ(cmd.guestRanges[1].address.value, 0xffff'ffff'ffff'f000ull);
  EXPECT_EQ(cmd.guestRanges[1].length, 0xffff'ffffu);
  // The same first 16 bytes, read as an object entry.
  EXPECT_EQ(std::memcmp(cmd.objectUuid.data(), bytes.data() + fixed, 16), 0);
}

TEST(CommandTest, ResourceCreateRejectsBadShapes) {
  struct Case {
    const char* name;
    uint32_t planes;
    uint32_t entries;
    size_t trailing;
  } cases[] = {
      {"no entries", 1, 1, 0},
      {"partial entry", 1, 1, 15},
      {"zero planes", 0, 1, 16},
      {"nine planes", 9, 1, 16},
      {"entry count over limit", 1, 20000, 16},
      {"entry count overflow", 1, 0xffffffff, 16},
  };
  for (const auto& c : cases) {
    auto bytes = bytesOf(resourceCreate(c.planes, c.entries));
    bytes.resize(bytes.size() + c.trailing);
    auto parsed = parseCommand(bytes, {});
    ASSERT_FALSE(parsed.has_value()) << c.name;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidParameter) << c.name;
  }
  // Sum of num_entries over all planes overflowing 32 bits.
  auto cmd = resourceCreate(8, 0);
  for (auto& n : cmd.num_entries) n = 0x80000000u;
  auto bytes = bytesOf(cmd);
  bytes.resize(bytes.size() + 16);
  EXPECT_FALSE(parseCommand(bytes, {}).has_value());
  // Too many trailing entries for the limit.
  bytes = bytesOf(resourceCreate(1, 1));
  bytes.resize(bytes.size() + 16 * 5);
  EXPECT_FALSE(parseCommand(bytes, CommandLimits{4}).has_value());
}

TEST(CommandTest, ResourceQueueDataSizesOutOfRange) {
  w::virtio_video_resource_queue queue{};
  queue.hdr = {w::VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, 1};
  queue.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
  queue.num_data_sizes = 9;
  auto parsed = parseCommand(bytesOf(queue), {});
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidParameter);
}

TEST(CommandTest, QueryControlWithAndWithoutFormat) {
  w::virtio_video_query_control query{};
  query.hdr = {w::VIRTIO_VIDEO_CMD_QUERY_CONTROL, 0};
  query.control = w::VIRTIO_VIDEO_CONTROL_PROFILE;
  auto bytes = bytesOf(query);
  EXPECT_TRUE(parseCommand(bytes, {}).has_value());
  appendWire(bytes, w::virtio_video_query_control_format{w::VIRTIO_VIDEO_FORMAT_H264, {}});
  auto parsed = parseCommand(bytes, {});
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(std::get<QueryControlCmd>(parsed->body).format, w::VIRTIO_VIDEO_FORMAT_H264);
  bytes.resize(bytes.size() + 4);
  EXPECT_FALSE(parseCommand(bytes, {}).has_value());
}

TEST(CommandTest, SetParamsExtCarriesResourceType) {
  w::virtio_video_set_params_ext set{};
  set.hdr = {w::VIRTIO_VIDEO_CMD_SET_PARAMS_EXT, 3};
  set.params.base.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
  set.params.resource_type = w::VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
  auto parsed = parseCommand(bytesOf(set), {});
  ASSERT_TRUE(parsed.has_value());
  const auto& cmd = std::get<SetParamsCmd>(parsed->body);
  EXPECT_TRUE(cmd.extended);
  EXPECT_EQ(cmd.queue, QueueType::kInput);
  EXPECT_EQ(cmd.resourceType, w::VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES);
  // The legacy 112-byte form under the _EXT code is a size error.
  w::virtio_video_set_params legacy{};
  legacy.hdr = {w::VIRTIO_VIDEO_CMD_SET_PARAMS_EXT, 3};
  legacy.params.queue_type = w::VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
  EXPECT_FALSE(parseCommand(bytesOf(legacy), {}).has_value());
}

}  // namespace
}  // namespace vdec
