// SPDX-License-Identifier: MIT
// MediaSession buffer memory: DMABUF buffers (VIRTIO_OBJECT UUIDs resolved to memfds), the
// single-planar buffer types, and SG lists that change between QBUFs.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include <gtest/gtest.h>

#include "tests/vdec/media_device_fixture.h"
#include "vdec/base/unique_fd.h"

namespace vdec::media::testing {
namespace {
namespace w = wire;

constexpr uint32_t kOut = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;

// Resolves UUIDs whose first byte names a sealed memfd of `size` bytes holding `fill`.
class MemfdResolver final : public buffers::ObjectResolver {
 public:
  Result<UniqueFd> lookup(const buffers::Uuid& uuid) override {
    ++lookups;
    auto it = fds.find(uuid[0]);
    if (it == fds.end()) return makeError(ErrorCode::kInvalidParameter, "unknown uuid");
    return it->second.duplicate();
  }
  void add(uint8_t key, size_t size, const std::vector<uint8_t>& content) {
    UniqueFd fd(::memfd_create("media-test-object", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    ASSERT_TRUE(fd.isValid());
    ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
    ASSERT_EQ(::pwrite(fd.get(), content.data(), content.size(), 0),
              static_cast<ssize_t>(content.size()));
    ASSERT_EQ(::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK), 0);
    fds.emplace(key, std::move(fd));
  }
  std::map<uint8_t, UniqueFd> fds;
  int lookups = 0;
};

std::vector<std::byte> dmabufBuffer(uint32_t type, uint32_t index, uint8_t key, uint32_t length,
                                    uint32_t bytesUsed) {
  w::v4l2_buffer buffer{};
  buffer.index = index;
  buffer.type = type;
  buffer.memory = V4L2_MEMORY_DMABUF;
  buffer.length = 1;
  buffers::Uuid uuid{};
  uuid[0] = key;
  RequestBuilder bytes;
  bytes.add(buffer).add(w::v4l2_plane{bytesUsed, length, 0, 0, {}}).add(uuid);
  return bytes.bytes();
}

using MediaSessionMemoryTest = MediaDeviceFixture;

TEST_F(MediaSessionMemoryTest, DmabufBuffersAreResolvedOnceAndDecodedFrom) {
  MemfdResolver resolver;
  resolver.add(7, 8192, {0, 0, 0, 1, 0x65, 0x88});
  device_->setObjectResolver(&resolver);
  const uint32_t session = open();
  ASSERT_EQ(reqbufs(session, kOut, 2, V4L2_MEMORY_DMABUF).status, 0u);
  ASSERT_EQ(streamOn(session, kOut).status, 0u);
  auto reply = ioctl(session, 15, dmabufBuffer(kOut, 0, 7, 8192, 6));
  ASSERT_EQ(reply.status, 0u);
  // The reply repeats the buffer, its plane and the UUID.
  ASSERT_EQ(reply.payload.size(), sizeof(w::v4l2_buffer) + sizeof(w::v4l2_plane) + 16);
  EXPECT_EQ(static_cast<uint8_t>(reply.payload.back()), 0);
  EXPECT_EQ(static_cast<uint8_t>(reply.payload[reply.payload.size() - 16]), 7);
  ASSERT_NE(fake(), nullptr);
  ASSERT_EQ(fake()->decoded.size(), 1u);
  EXPECT_EQ(fake()->decoded[0].bytes, (std::vector<uint8_t>{0, 0, 0, 1, 0x65, 0x88}));
  emit(codecs::InputDone{fake()->decoded[0].inputId});
  pump();
  ASSERT_EQ(takeEvents().size(), 1u);
  // Queued again with the same UUID: no second lookup.
  ASSERT_EQ(ioctl(session, 15, dmabufBuffer(kOut, 0, 7, 8192, 6)).status, 0u);
  EXPECT_EQ(resolver.lookups, 1);
  // An unknown UUID, or bytesused beyond the object: EINVAL.
  EXPECT_EQ(ioctl(session, 15, dmabufBuffer(kOut, 1, 9, 8192, 6)).status, uint32_t{EINVAL});
  EXPECT_EQ(ioctl(session, 15, dmabufBuffer(kOut, 1, 7, 1 << 20, 100000)).status,
            uint32_t{EINVAL});
  device_->setObjectResolver(nullptr);
}

TEST_F(MediaSessionMemoryTest, SinglePlanarTypesWork) {
  const uint32_t session = open();
  ASSERT_EQ(reqbufs(session, V4L2_BUF_TYPE_VIDEO_OUTPUT, 1).status, 0u);
  v4l2_format format{};
  format.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
  format.fmt.pix.pixelformat = V4L2_PIX_FMT_H264;
  format.fmt.pix.sizeimage = 65536;
  auto set = ioctlOf(session, 5, format).as<v4l2_format>();
  EXPECT_EQ(set.fmt.pix.sizeimage, 65536u);
  const uint8_t data[] = {5, 6, 7};
  std::memcpy(ram_.host(kInputBase), data, sizeof(data));
  ASSERT_EQ(ioctl(session, 15,
                  userptrBuffer(V4L2_BUF_TYPE_VIDEO_OUTPUT, 0, kInputBase, 4096, 3, 8, 9))
                .status,
            0u);
  ASSERT_EQ(streamOn(session, V4L2_BUF_TYPE_VIDEO_OUTPUT).status, 0u);
  ASSERT_EQ(fake()->decoded.size(), 1u);
  EXPECT_EQ(fake()->decoded[0].bytes, (std::vector<uint8_t>{5, 6, 7}));
  emit(codecs::InputDone{fake()->decoded[0].inputId});
  pump();
  auto events = takeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].dqbuf.buffer.type, uint32_t{V4L2_BUF_TYPE_VIDEO_OUTPUT});
  EXPECT_EQ(events[0].dqbuf.buffer.bytesused, 3u);
  EXPECT_EQ(events[0].dqbuf.buffer.timestamp_sec, 8);
  EXPECT_EQ(events[0].dqbuf.buffer.m, 0u);
  // The single-planar CAPTURE format has one plane of every colour plane.
  v4l2_format capture{};
  capture.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  auto got = ioctlOf(session, 4, capture).as<v4l2_format>();
  EXPECT_EQ(got.fmt.pix.sizeimage, 640u * 480 * 3 / 2);
  EXPECT_EQ(got.fmt.pix.bytesperline, 640u);
}

TEST_F(MediaSessionMemoryTest, NewPagesForAQueuedAgainBufferAreUsed) {
  const uint32_t session = openDecoder();
  ASSERT_EQ(streamOn(session, kOut).status, 0u);
  const uint8_t first[] = {1, 1};
  const uint8_t second[] = {2, 2};
  std::memcpy(ram_.host(kInputBase), first, 2);
  std::memcpy(ram_.host(kInputBase + 0x20000), second, 2);
  ASSERT_EQ(ioctl(session, 15, userptrBuffer(kOut, 0, kInputBase, 4096, 2)).status, 0u);
  emit(codecs::InputDone{fake()->decoded[0].inputId});
  pump();
  takeEvents();
  // The same index, other user memory (another userptr in the guest): other pages.
  ASSERT_EQ(ioctl(session, 15, userptrBuffer(kOut, 0, kInputBase + 0x20000, 4096, 2)).status, 0u);
  ASSERT_EQ(fake()->decoded.size(), 2u);
  EXPECT_EQ(fake()->decoded[1].bytes, (std::vector<uint8_t>{2, 2}));
}

TEST_F(MediaSessionMemoryTest, BufferEntryTablesAreChargedToTheSessionBudget) {
  DeviceConfig config;
  // One buffer of one page (1088 bytes) and its 16-byte input (272): 1360; a second buffer no.
  config.maxStreamMemory = 2400;
  restart(config);
  const uint32_t session = openDecoder();
  ASSERT_EQ(ioctl(session, 15, userptrBuffer(kOut, 0, kInputBase, 4096, 16)).status, 0u);
  EXPECT_EQ(ioctl(session, 15, userptrBuffer(kOut, 1, kInputBase + 0x10000, 4096, 16)).status,
            uint32_t{ENOMEM});
  close(session);
  // Closing gave everything back.
  const uint32_t again = openDecoder();
  EXPECT_EQ(ioctl(again, 15, userptrBuffer(kOut, 0, kInputBase, 4096, 16)).status, 0u);
}

}  // namespace
}  // namespace vdec::media::testing
