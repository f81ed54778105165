// SPDX-License-Identifier: MIT
// ObjectExporter: UUIDs, and SHARED_OBJECT_LOOKUP answered over a socketpair back-end channel.
#include "samples/harness/object_exporter.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstring>

#include <gtest/gtest.h>

#include "samples/harness/vhost_user_message.h"
#include "vdec/base/mapped_region.h"
#include "virtio/vhost_user_protocol.h"

namespace vdec::harness {
namespace {

using namespace vhost;  // NOLINT(google-build-using-namespace)

class ObjectExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto exporter = ObjectExporter::create();
    ASSERT_TRUE(exporter) << exporter.error().message;
    exporter_ = std::move(*exporter);
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    device_ = UniqueFd(pair[1]);
    ASSERT_TRUE(exporter_->serve(UniqueFd(pair[0])));
  }

  // Sends what the device sends: LOOKUP with NEED_REPLY.
  VhostUserMessage lookup(const Uuid& uuid) {
    VhostUserShared shared{};
    std::memcpy(shared.uuid, uuid.data(), uuid.size());
    EXPECT_TRUE(sendVhostUserMessage(device_.get(), VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP,
                                     VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK,
                                     std::as_bytes(std::span(&shared, 1))));
    auto reply = receiveVhostUserMessage(device_.get(), std::chrono::milliseconds(2000));
    EXPECT_TRUE(reply) << reply.error().message;
    return reply ? std::move(*reply) : VhostUserMessage{};
  }

  std::unique_ptr<ObjectExporter> exporter_;
  UniqueFd device_;
};

TEST_F(ObjectExporterTest, AllocatesVersion4UuidsAndMappings) {
  auto a = exporter_->allocate(5000);
  auto b = exporter_->allocate(100);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size, 8192u);
  EXPECT_EQ(a->bytes.size(), 8192u);
  EXPECT_NE(a->uuid, b->uuid);
  EXPECT_EQ(a->uuid[6] >> 4, 4);
  EXPECT_EQ(a->uuid[8] & 0xc0, 0x80);
  EXPECT_EQ(a->isDmaBuf, exporter_->usesDmaBuf());
  EXPECT_GE(a->fd, 0);
}

TEST_F(ObjectExporterTest, LookupOfKnownUuidPassesAnFdToTheSameBytes) {
  auto object = exporter_->allocate(4096);
  ASSERT_TRUE(object);
  std::memcpy(object->bytes.data(), "frame", 5);
  auto reply = lookup(object->uuid);
  EXPECT_EQ(reply.header.request, VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP);
  EXPECT_EQ(reply.header.flags, 0x5u);
  ASSERT_TRUE(reply.u64());
  EXPECT_EQ(*reply.u64(), 0u);
  ASSERT_EQ(reply.fds.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::fstat(reply.fds[0].get(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), object->size);
  auto mapping = MappedRegion::map(reply.fds[0].get(), 4096, 0);
  ASSERT_TRUE(mapping);
  EXPECT_EQ(std::memcmp(mapping->data(), "frame", 5), 0);
  std::memcpy(mapping->data(), "FRAME", 5);  // the device writes; the exporter sees it
  EXPECT_EQ(std::memcmp(object->bytes.data(), "FRAME", 5), 0);
  EXPECT_EQ(exporter_->lookups(), 1u);
}

TEST_F(ObjectExporterTest, UnknownOrReleasedUuidAnswersOneWithoutFd) {
  Uuid unknown{};
  unknown[0] = 0x42;
  auto reply = lookup(unknown);
  ASSERT_TRUE(reply.u64());
  EXPECT_EQ(*reply.u64(), 1u);
  EXPECT_TRUE(reply.fds.empty());

  auto object = exporter_->allocate(4096);
  ASSERT_TRUE(object);
  EXPECT_TRUE(exporter_->release(object->uuid));
  EXPECT_FALSE(exporter_->release(object->uuid));
  auto released = lookup(object->uuid);
  ASSERT_TRUE(released.u64());
  EXPECT_EQ(*released.u64(), 1u);
  EXPECT_TRUE(released.fds.empty());
}

TEST_F(ObjectExporterTest, Qemu102ModeAnswersZeroWithoutFd) {
  auto object = exporter_->allocate(4096);
  ASSERT_TRUE(object);
  exporter_->setLookupMode(LookupMode::kQemu102);
  auto reply = lookup(object->uuid);
  ASSERT_TRUE(reply.u64());
  EXPECT_EQ(*reply.u64(), 0u);
  EXPECT_TRUE(reply.fds.empty());
}

TEST_F(ObjectExporterTest, OtherRequestsAreRefusedWhenAReplyIsWanted) {
  VhostUserShared shared{};
  ASSERT_TRUE(sendVhostUserMessage(device_.get(), VHOST_USER_BACKEND_SHARED_OBJECT_ADD,
                                   VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK,
                                   std::as_bytes(std::span(&shared, 1))));
  auto reply = receiveVhostUserMessage(device_.get(), std::chrono::milliseconds(2000));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->header.request, VHOST_USER_BACKEND_SHARED_OBJECT_ADD);
  EXPECT_EQ(*reply->u64(), 1u);
  // Without NEED_REPLY nothing comes back; the next LOOKUP is answered normally.
  ASSERT_TRUE(sendVhostUserMessage(device_.get(), VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
                                   VHOST_USER_VERSION, {}));
  auto next = lookup(Uuid{});
  EXPECT_EQ(next.header.request, VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP);
}

TEST_F(ObjectExporterTest, DestructionJoinsWhileThePeerStaysOpen) {
  // Must not hang: the thread is woken through its eventfd, not by the peer closing.
  const auto start = std::chrono::steady_clock::now();
  exporter_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // The peer is still open and sees no reply to anything: the exporter's end is closed.
  EXPECT_FALSE(receiveVhostUserMessage(device_.get(), std::chrono::milliseconds(100)));
}

}  // namespace
}  // namespace vdec::harness
