// SPDX-License-Identifier: MIT
// The variable-length virtio-media ioctl payloads: v4l2_buffer with planes, SHARED_PAGES SG lists
// and VIRTIO_OBJECT UUIDs; v4l2_ext_controls with controls and pointer-control SG lists. Exact,
// short, oversized, out-of-range and overflowing inputs, through parseMediaCommand().
#include <cerrno>

#include <gtest/gtest.h>

#include "tests/vdec/media_test_util.h"
#include "vdec/media/media_command.h"

namespace vdec::media {
namespace {
namespace w = wire;
using testing::ioctlRequest;
using testing::RequestBuilder;
using testing::sgEntry;

constexpr uint32_t kQbuf = 15;
constexpr uint32_t kSExtCtrls = 72;

w::v4l2_buffer buffer(uint32_t type, uint32_t memory, uint32_t length) {
  w::v4l2_buffer b{};
  b.index = 1;
  b.type = type;
  b.memory = memory;
  b.length = length;
  b.m = 0xdead0000;  // a guest pointer: ignored, kept as sent
  return b;
}

w::v4l2_plane plane(uint32_t length) {
  w::v4l2_plane p{};
  p.length = length;
  return p;
}

Result<MediaCommand> parse(const std::vector<std::byte>& bytes, MediaCommandLimits limits = {}) {
  return parseMediaCommand(bytes, limits);
}

uint32_t statusOf(const std::vector<std::byte>& bytes, MediaCommandLimits limits = {}) {
  auto command = parse(bytes, limits);
  return command ? 0 : mediaStatusFor(command.error());
}

template <typename Payload>
const Payload& payloadOf(const Result<MediaCommand>& command) {
  return std::get<Payload>(std::get<IoctlCmd>(command->body).payload);
}

TEST(MediaBufferPayload, MmapSinglePlanarIsTheBufferAlone) {
  auto request = ioctlRequest(kQbuf).add(buffer(v4l2::kBufTypeVideoOutput, v4l2::kMemoryMmap, 4096));
  auto command = parse(request.bytes());
  ASSERT_TRUE(command);
  const auto& payload = payloadOf<MediaBufferPayload>(command);
  EXPECT_EQ(payload.buffer.index, 1u);
  EXPECT_EQ(payload.buffer.m, 0xdead0000u);
  EXPECT_TRUE(payload.planes.empty());
  EXPECT_TRUE(payload.sharedPages.empty());
  EXPECT_EQ(statusOf(request.zeros(1).bytes()), uint32_t{EINVAL});
}

TEST(MediaBufferPayload, MultiPlanarCarriesItsPlanes) {
  auto request = ioctlRequest(kQbuf)
                     .add(buffer(v4l2::kBufTypeVideoCaptureMplane, v4l2::kMemoryMmap, 2))
                     .add(plane(100))
                     .add(plane(50));
  auto command = parse(request.bytes());
  ASSERT_TRUE(command);
  const auto& payload = payloadOf<MediaBufferPayload>(command);
  ASSERT_EQ(payload.planes.size(), 2u);
  EXPECT_EQ(payload.planes[1].length, 50u);
  EXPECT_EQ(statusOf(request.drop(1).bytes()), uint32_t{EINVAL});
}

TEST(MediaBufferPayload, MoreThanEightPlanesIsEinval) {
  auto request = ioctlRequest(kQbuf).add(buffer(v4l2::kBufTypeVideoCaptureMplane, v4l2::kMemoryMmap, 9));
  for (int i = 0; i < 9; ++i) request.add(plane(1));
  EXPECT_EQ(statusOf(request.bytes()), uint32_t{EINVAL});
  // The length is a guest value: 0xFFFFFFFF planes must not be read or reserved.
  auto huge = ioctlRequest(kQbuf).add(
      buffer(v4l2::kBufTypeVideoCaptureMplane, v4l2::kMemoryMmap, 0xFFFFFFFFu));
  EXPECT_EQ(statusOf(huge.bytes()), uint32_t{EINVAL});
}

TEST(MediaBufferPayload, BufferAndMemoryTypesOutOfRangeAreEinval) {
  for (uint32_t type : {0u, v4l2::kBufTypeLast + 1, 0x80000000u}) {
    EXPECT_EQ(statusOf(ioctlRequest(kQbuf).add(buffer(type, v4l2::kMemoryMmap, 0)).bytes()),
              uint32_t{EINVAL})
        << type;
  }
  for (uint32_t memory : {0u, v4l2::kMemoryOverlay, 5u, 0xFFFFFFFFu}) {
    EXPECT_EQ(statusOf(ioctlRequest(kQbuf).add(buffer(v4l2::kBufTypeVideoOutput, memory, 0)).bytes()),
              uint32_t{EINVAL})
        << memory;
  }
}

TEST(MediaBufferPayload, SharedPagesSinglePlanarReadsEntriesUntilTheLengthIsCovered) {
  auto request = ioctlRequest(kQbuf)
                     .add(buffer(v4l2::kBufTypeVideoOutput, v4l2::kMemoryUserptr, 6000))
                     .add(sgEntry(0x10000, 4096))
                     .add(sgEntry(0x30000, 4096));  // covers 8192: clipped to 1904
  auto command = parse(request.bytes());
  ASSERT_TRUE(command);
  const auto& payload = payloadOf<MediaBufferPayload>(command);
  ASSERT_EQ(payload.sharedPages.size(), 1u);
  ASSERT_EQ(payload.sharedPages[0].size(), 2u);
  EXPECT_EQ(payload.sharedPages[0][1].address.value, 0x30000u);
  EXPECT_EQ(payload.sharedPages[0][1].length, 6000u - 4096u);
  EXPECT_EQ(payload.buffer.m, 0xdead0000u);  // the userptr is returned as sent
  // One entry short, or one entry too many.
  EXPECT_EQ(statusOf(ioctlRequest(kQbuf)
                         .add(buffer(v4l2::kBufTypeVideoOutput, v4l2::kMemoryUserptr, 6000))
                         .add(sgEntry(0x10000, 4096))
                         .bytes()),
            uint32_t{EINVAL});
  EXPECT_EQ(statusOf(request.add(sgEntry(0x50000, 4096)).bytes()), uint32_t{EINVAL});
}

TEST(MediaBufferPayload, SharedPagesWithZeroLengthHasNoEntries) {
  auto command = parse(
      ioctlRequest(kQbuf).add(buffer(v4l2::kBufTypeVideoOutput, v4l2::kMemoryUserptr, 0)).bytes());
  ASSERT_TRUE(command);
  const auto& payload = payloadOf<MediaBufferPayload>(command);
  ASSERT_EQ(payload.sharedPages.size(), 1u);
  EXPECT_TRUE(payload.sharedPages[0].empty());
}

TEST(MediaBufferPayload, SharedPagesMultiPlanarHasOneListPerPlane) {
  auto command = parse(ioctlRequest(kQbuf)
                           .add(buffer(v4l2::kBufTypeVideoCaptureMplane, v4l2::kMemoryUserptr, 3))
                           .add(plane(8192))
                           .add(plane(0))  // a plane without memory: no entries
                           .add(plane(100))
                           .add(sgEntry(0x1000, 8192))
                           .add(sgEntry(0x9000, 100))
                           .bytes());
  ASSERT_TRUE(command);
  const auto& pages = payloadOf<MediaBufferPayload>(command).sharedPages;
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[0].size(), 1u);
  EXPECT_TRUE(pages[1].empty());
  ASSERT_EQ(pages[2].size(), 1u);
  EXPECT_EQ(pages[2][0].address.value, 0x9000u);
}

TEST(MediaBufferPayload, ZeroLengthOrOverflowingEntriesAreEinval) {
  auto base = [] {
    return ioctlRequest(kQbuf).add(buffer(v4l2::kBufTypeVideoOutput, v4l2::kMemoryUserptr, 4096));
  };
  EXPECT_EQ(statusOf(base().add(sgEntry(0x1000, 0)).add(sgEntry(0x1000, 4096)).bytes()),
            uint32_t{EINVAL});
  EXPECT_EQ(statusOf(base().add(sgEntry(0xFFFFFFFFFFFFF000ull, 0x2000)).bytes()), uint32_t{EINVAL});
}

TEST(MediaBufferPayload, EntryCountIsLimited) {
  MediaCommandLimits limits;
  limits.maxSgEntriesPerPointer = 4;
  auto request =
      ioctlRequest(kQbuf).add(buffer(v4l2::kBufTypeVideoOutput, v4l2::kMemoryUserptr, 5));
  for (int i = 0; i < 5; ++i) request.add(sgEntry(0x1000 * (i + 1), 1));
  EXPECT_EQ(statusOf(request.bytes(), limits), uint32_t{EINVAL});
  limits.maxSgEntriesPerPointer = 5;
  EXPECT_EQ(statusOf(request.bytes(), limits), 0u);
}

TEST(MediaBufferPayload, VirtioObjectsCarryOneUuidPerPlane) {
  buffers::Uuid first{};
  first[0] = 0xAA;
  buffers::Uuid second{};
  second[15] = 0xBB;
  auto single = ioctlRequest(kQbuf)
                    .add(buffer(v4l2::kBufTypeVideoOutput, v4l2::kMemoryDmabuf, 4096))
                    .add(first);
  auto command = parse(single.bytes());
  ASSERT_TRUE(command);
  ASSERT_EQ(payloadOf<MediaBufferPayload>(command).objects.size(), 1u);
  EXPECT_EQ(payloadOf<MediaBufferPayload>(command).objects[0], first);
  EXPECT_EQ(statusOf(single.drop(1).bytes()), uint32_t{EINVAL});

  auto multi = ioctlRequest(kQbuf)
                   .add(buffer(v4l2::kBufTypeVideoCaptureMplane, v4l2::kMemoryDmabuf, 2))
                   .add(plane(100))
                   .add(plane(50))
                   .add(first)
                   .add(second);
  command = parse(multi.bytes());
  ASSERT_TRUE(command);
  ASSERT_EQ(payloadOf<MediaBufferPayload>(command).objects.size(), 2u);
  EXPECT_EQ(payloadOf<MediaBufferPayload>(command).objects[1], second);
  EXPECT_EQ(statusOf(multi.add(first).bytes()), uint32_t{EINVAL});
}

size_t responseSizeOf(const std::vector<std::byte>& bytes) {
  auto command = parse(bytes);
  EXPECT_TRUE(command);
  return command ? ioctlResponsePayloadSize(std::get<IoctlCmd>(command->body)) : 0;
}

TEST(MediaBufferPayload, ResponseRepeatsBufferPlanesAndUuidsButNotSgLists) {
  EXPECT_EQ(responseSizeOf(ioctlRequest(kQbuf)
                               .add(buffer(v4l2::kBufTypeVideoOutput, v4l2::kMemoryUserptr, 100))
                               .add(sgEntry(0x1000, 100))
                               .bytes()),
            88u);
  EXPECT_EQ(responseSizeOf(ioctlRequest(kQbuf)
                               .add(buffer(v4l2::kBufTypeVideoCaptureMplane, v4l2::kMemoryDmabuf, 2))
                               .add(plane(1))
                               .add(plane(1))
                               .zeros(32)
                               .bytes()),
            88u + 2 * 64 + 2 * 16);
}

w::v4l2_ext_controls extControls(uint32_t count) {
  w::v4l2_ext_controls c{};
  c.which = 0x00990000;  // V4L2_CTRL_CLASS_CODEC
  c.count = count;
  return c;
}

w::v4l2_ext_control control(uint32_t id, uint32_t size, uint64_t value) {
  w::v4l2_ext_control c{};
  c.id = id;
  c.size = size;
  c.value = value;
  return c;
}

TEST(MediaExtControls, ValueAndPointerControls) {
  auto command = parse(ioctlRequest(kSExtCtrls)
                           .add(extControls(2))
                           .add(control(0x00990a6b, 0, 3))
                           .add(control(0x00990a6c, 12, 0))
                           .add(sgEntry(0x7000, 12))
                           .bytes());
  ASSERT_TRUE(command);
  const auto& payload = payloadOf<MediaExtControls>(command);
  ASSERT_EQ(payload.controls.size(), 2u);
  EXPECT_EQ(payload.controls[0].value, 3u);
  ASSERT_EQ(payload.controlPages.size(), 2u);
  EXPECT_TRUE(payload.controlPages[0].empty());
  ASSERT_EQ(payload.controlPages[1].size(), 1u);
  EXPECT_EQ(payload.controlPages[1][0].length, 12u);
  EXPECT_EQ(ioctlResponsePayloadSize(std::get<IoctlCmd>(command->body)), 32u + 2 * 20);
}

TEST(MediaExtControls, NoControls) {
  auto command = parse(ioctlRequest(kSExtCtrls).add(extControls(0)).bytes());
  ASSERT_TRUE(command);
  EXPECT_TRUE(payloadOf<MediaExtControls>(command).controls.empty());
}

TEST(MediaExtControls, CountsBeyondThePayloadOrTheLimitAreEinval) {
  EXPECT_EQ(statusOf(ioctlRequest(kSExtCtrls).add(extControls(2)).add(control(1, 0, 0)).bytes()),
            uint32_t{EINVAL});
  EXPECT_EQ(statusOf(ioctlRequest(kSExtCtrls).add(extControls(v4l2::kMaxExtControls)).bytes()),
            uint32_t{EINVAL});
  EXPECT_EQ(statusOf(ioctlRequest(kSExtCtrls).add(extControls(0xFFFFFFFFu)).bytes()),
            uint32_t{EINVAL});
  // A pointer control whose SG entries are missing, and trailing bytes.
  EXPECT_EQ(statusOf(ioctlRequest(kSExtCtrls).add(extControls(1)).add(control(1, 8, 0)).bytes()),
            uint32_t{EINVAL});
  EXPECT_EQ(statusOf(ioctlRequest(kSExtCtrls).add(extControls(0)).zeros(1).bytes()),
            uint32_t{EINVAL});
  EXPECT_EQ(statusOf(ioctlRequest(kSExtCtrls).add(extControls(0)).drop(1).bytes()),
            uint32_t{EINVAL});
}

}  // namespace
}  // namespace vdec::media
