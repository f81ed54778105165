// SPDX-License-Identifier: MIT
// parseMediaCommand(): every command exact, short, oversized; fixed-size ioctls; unknown codes;
// seeded random garbage. Variable-length ioctl payloads: media_ioctl_payload_test.cpp.
#include "vdec/media/media_command.h"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include <gtest/gtest.h>

#include "tests/test_paths.h"
#include "tests/vdec/media_test_util.h"

namespace vdec::media {
namespace {
namespace w = wire;
using testing::ioctlRequest;
using testing::RequestBuilder;

constexpr uint32_t kGFmt = 4;
constexpr uint32_t kStreamOn = 18;
constexpr uint32_t kQbuf = 15;
constexpr uint32_t kQueryCap = 0;
constexpr uint32_t kDqbuf = 17;

Result<MediaCommand> parse(const std::vector<std::byte>& bytes,
                           w::virtio_media_cmd_header* header = nullptr) {
  return parseMediaCommand(bytes, MediaCommandLimits{}, header);
}

uint32_t statusOf(const std::vector<std::byte>& bytes) {
  auto command = parse(bytes);
  return command ? 0 : mediaStatusFor(command.error());
}

struct SizedCommand {
  const char* name;
  std::vector<std::byte> bytes;
};

std::vector<SizedCommand> exactCommands() {
  return {
      {"OPEN", RequestBuilder().add(w::virtio_media_cmd_open{{w::VIRTIO_MEDIA_CMD_OPEN, 0}}).bytes()},
      {"CLOSE",
       RequestBuilder().add(w::virtio_media_cmd_close{{w::VIRTIO_MEDIA_CMD_CLOSE, 0}, 5, 0}).bytes()},
      {"MMAP", RequestBuilder()
                   .add(w::virtio_media_cmd_mmap{{w::VIRTIO_MEDIA_CMD_MMAP, 0}, 5, 1, 0x4000})
                   .bytes()},
      {"MUNMAP",
       RequestBuilder().add(w::virtio_media_cmd_munmap{{w::VIRTIO_MEDIA_CMD_MUNMAP, 0}, 0x8000}).bytes()},
      {"IOCTL G_FMT", ioctlRequest(kGFmt).zeros(208).bytes()},
      {"IOCTL STREAMON", ioctlRequest(kStreamOn).add(uint32_t{9}).bytes()},
  };
}

TEST(MediaCommand, EveryCommandAtItsExactSizeParses) {
  for (const auto& command : exactCommands()) {
    EXPECT_TRUE(parse(command.bytes).has_value()) << command.name;
  }
}

TEST(MediaCommand, OneByteShortOrLongIsEinval) {
  for (const auto& command : exactCommands()) {
    auto shorter = command.bytes;
    shorter.pop_back();
    auto longer = command.bytes;
    longer.push_back(std::byte{0});
    EXPECT_EQ(statusOf(shorter), uint32_t{EINVAL}) << command.name;
    EXPECT_EQ(statusOf(longer), uint32_t{EINVAL}) << command.name;
  }
}

TEST(MediaCommand, FieldsAreCopiedOut) {
  auto close = parse(exactCommands()[1].bytes);
  ASSERT_TRUE(close);
  EXPECT_EQ(std::get<CloseCmd>(close->body).sessionId, 5u);

  auto mmap = parse(exactCommands()[2].bytes);
  ASSERT_TRUE(mmap);
  const auto& m = std::get<MmapCmd>(mmap->body);
  EXPECT_EQ(m.sessionId, 5u);
  EXPECT_TRUE(m.writable);
  EXPECT_EQ(m.offset, 0x4000u);

  auto munmap = parse(exactCommands()[3].bytes);
  ASSERT_TRUE(munmap);
  EXPECT_EQ(std::get<MunmapCmd>(munmap->body).driverAddr, 0x8000u);

  auto ioctl = parse(ioctlRequest(kStreamOn, 7).add(uint32_t{9}).bytes());
  ASSERT_TRUE(ioctl);
  const auto& cmd = std::get<IoctlCmd>(ioctl->body);
  EXPECT_EQ(cmd.sessionId, 7u);
  EXPECT_STREQ(cmd.ioctl->name, "VIDIOC_STREAMON");
  ASSERT_EQ(std::get<FixedPayload>(cmd.payload).size(), 4u);
  EXPECT_EQ(std::get<FixedPayload>(cmd.payload)[0], std::byte{9});
  EXPECT_EQ(ioctlResponsePayloadSize(cmd), 0u);  // _IOW: only the header comes back
  auto gFmt = parse(ioctlRequest(kGFmt).zeros(208).bytes());
  ASSERT_TRUE(gFmt);
  EXPECT_EQ(ioctlResponsePayloadSize(std::get<IoctlCmd>(gFmt->body)), 208u);
}

TEST(MediaCommand, MmapWithUnknownFlagsIsEinval) {
  auto bytes =
      RequestBuilder().add(w::virtio_media_cmd_mmap{{w::VIRTIO_MEDIA_CMD_MMAP, 0}, 5, 2, 0}).bytes();
  EXPECT_EQ(statusOf(bytes), uint32_t{EINVAL});
  auto readOnly =
      parse(RequestBuilder().add(w::virtio_media_cmd_mmap{{w::VIRTIO_MEDIA_CMD_MMAP, 0}, 5, 0, 0}).bytes());
  ASSERT_TRUE(readOnly);
  EXPECT_FALSE(std::get<MmapCmd>(readOnly->body).writable);
}

TEST(MediaCommand, UnknownCommandTypesAreEnottyWithTheHeaderReturned) {
  for (uint32_t type : {0u, 6u, 0x100u, 0xFFFFFFFFu}) {
    w::virtio_media_cmd_header header{};
    auto result = parse(RequestBuilder().add(w::virtio_media_cmd_header{type, 0}).zeros(16).bytes(),
                        &header);
    ASSERT_FALSE(result);
    EXPECT_EQ(mediaStatusFor(result.error()), uint32_t{ENOTTY});
    EXPECT_EQ(header.cmd, type);
  }
}

TEST(MediaCommand, RequestsShorterThanAHeaderAreEinval) {
  for (size_t size = 0; size < sizeof(w::virtio_media_cmd_header); ++size) {
    EXPECT_EQ(statusOf(std::vector<std::byte>(size)), uint32_t{EINVAL}) << size;
  }
  // An IOCTL whose session/code words are missing.
  EXPECT_EQ(statusOf(ioctlRequest(kGFmt).drop(4).bytes()), uint32_t{EINVAL});
}

TEST(MediaCommand, UnsupportedAndReplacedIoctlsAreEnotty) {
  for (uint32_t code : {kQueryCap, kDqbuf, 89u /*DQEVENT*/, 16u /*EXPBUF*/, 200u, 0xFFFFFFFFu}) {
    EXPECT_EQ(statusOf(ioctlRequest(code).zeros(64).bytes()), uint32_t{ENOTTY}) << code;
  }
}

TEST(MediaCommand, FixedIoctlPayloadsMustHaveTheStructSize) {
  for (const auto& info : supportedV4l2Ioctls()) {
    if (info.kind != IoctlPayloadKind::kFixed) continue;
    SCOPED_TRACE(info.name);
    EXPECT_TRUE(parse(ioctlRequest(info.code).zeros(info.payloadSize).bytes()));
    EXPECT_EQ(statusOf(ioctlRequest(info.code).zeros(info.payloadSize - 1).bytes()),
              uint32_t{EINVAL});
    EXPECT_EQ(statusOf(ioctlRequest(info.code).zeros(info.payloadSize + 1).bytes()),
              uint32_t{EINVAL});
    EXPECT_EQ(statusOf(ioctlRequest(info.code).bytes()), uint32_t{EINVAL});
  }
}

TEST(MediaCommand, BufferIoctlWithoutPayloadIsEinval) {
  EXPECT_EQ(statusOf(ioctlRequest(kQbuf).bytes()), uint32_t{EINVAL});
}

TEST(MediaCommand, StatusMapping) {
  EXPECT_EQ(mediaStatusFor({ErrorCode::kUnsupported, ""}), uint32_t{ENOTTY});
  EXPECT_EQ(mediaStatusFor({ErrorCode::kInvalidParameter, ""}), uint32_t{EINVAL});
  EXPECT_EQ(mediaStatusFor({ErrorCode::kOutOfMemory, ""}), uint32_t{ENOMEM});
  EXPECT_EQ(mediaStatusFor({ErrorCode::kBackendFailure, ""}), uint32_t{EIO});
  EXPECT_STREQ(mediaCommandName(w::VIRTIO_MEDIA_CMD_IOCTL), "IOCTL");
  EXPECT_STREQ(mediaCommandName(99), "UNKNOWN");
}

// The command_fuzzer seeds for the media parser mode (tests/fuzz/make_seeds.py, first byte 0xC0)
// are well-formed requests, so that fuzzing starts from inputs that reach the payload parsers.
TEST(MediaCommand, FuzzSeedsAreWellFormed) {
  const std::filesystem::path corpus =
      std::filesystem::path(vdec::testing::samplesDir()) / ".." / "tests/fuzz/corpus/command_fuzzer";
  int seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("media_", 0) != 0) continue;
    SCOPED_TRACE(name);
    std::ifstream file(entry.path(), std::ios::binary);
    std::vector<char> raw((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(raw.empty());
    EXPECT_EQ(static_cast<uint8_t>(raw[0]), 0xC0);
    std::vector<std::byte> request(raw.size() - 1);
    std::memcpy(request.data(), raw.data() + 1, request.size());
    const bool expectEnotty = name.find("enotty") != std::string::npos;
    EXPECT_EQ(statusOf(request), expectEnotty ? uint32_t{ENOTTY} : 0u);
    ++seeds;
  }
  EXPECT_GE(seeds, 10);
}

// Seeded garbage, with a valid command type and ioctl code half of the time so that the payload
// parsers see it: every input either parses or fails with EINVAL/ENOTTY; nothing crashes.
TEST(MediaCommand, RandomGarbageNeverCrashes) {
  std::mt19937 random(1234);
  const auto ioctls = supportedV4l2Ioctls();
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::byte> bytes(random() % 400);
    for (auto& b : bytes) b = std::byte(random() & 0xff);
    if (bytes.size() >= 16 && (i & 1)) {
      const uint32_t type = 1 + random() % 5;
      const uint32_t code = ioctls[random() % ioctls.size()].code;
      std::memcpy(bytes.data(), &type, 4);
      std::memcpy(bytes.data() + 12, &code, 4);
    }
    auto result = parse(bytes);
    if (result) {
      ++parsed;
      EXPECT_GE(result->type, 1u);
      EXPECT_LE(result->type, 5u);
    } else {
      const uint32_t status = mediaStatusFor(result.error());
      EXPECT_TRUE(status == EINVAL || status == ENOTTY) << status;
    }
  }
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace vdec::media
