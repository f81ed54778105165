// SPDX-License-Identifier: MIT
// VhostUserFrontend: the QEMU handshake against a scripted back-end, message by message.
#include "samples/harness/vhost_user_frontend.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "samples/harness/driver_virtqueue.h"
#include "tests/samples/scripted_backend.h"
#include "vdec/base/wire.h"

namespace vdec::harness {
namespace {

using namespace vhost;  // NOLINT(google-build-using-namespace)
using testing::BackendScript;
using testing::ScriptedBackend;
using testing::SeenMessage;

class VhostUserFrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ram = GuestRam::create(1 << 20);
    ASSERT_TRUE(ram);
    ram_ = std::move(*ram);
    for (uint16_t i = 0; i < 2; ++i) {
      auto queue = DriverVirtqueue::create(ram_, i, i == 0 ? 16 : 8);
      ASSERT_TRUE(queue);
      queues_.push_back(std::move(*queue));
    }
    for (auto& fd : errFds_) fd = UniqueFd(::dup(queues_[0].kickFd()));
    for (const auto& q : queues_) {
      setups_.push_back({q.index(), q.size(), q.descGpa(), q.availGpa(), q.usedGpa(), q.kickFd(),
                         q.callFd(), errFds_[q.index()].get()});
    }
  }

  // Runs realize + start against a scripted back-end; returns what it saw.
  std::vector<SeenMessage> handshake(const BackendScript& script, const FrontendOptions& options,
                                     Status* result) {
    int pair[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    ScriptedBackend backend(UniqueFd(pair[1]), script);
    frontend_ = VhostUserFrontend::adopt(UniqueFd(pair[0]), "vdec-device at test", options);
    *result = frontend_->realize(setups_);
    if (*result) *result = frontend_->start(ram_, setups_);
    frontend_->close();
    return backend.join();
  }

  GuestRam ram_;
  std::vector<DriverVirtqueue> queues_;
  UniqueFd errFds_[2];
  std::vector<VringSetup> setups_;
  std::unique_ptr<VhostUserFrontend> frontend_;
};

uint64_t u64Of(const SeenMessage& m) { return readWire<uint64_t>(m.payload).value_or(~0ull); }

TEST_F(VhostUserFrontendTest, FollowsQemuOrderWithReplyAck) {
  Status result;
  auto seen = handshake(BackendScript{}, FrontendOptions{}, &result);
  ASSERT_TRUE(result) << result.error().message;

  const std::vector<uint32_t> expected = {
      VHOST_USER_GET_FEATURES,   VHOST_USER_GET_PROTOCOL_FEATURES, VHOST_USER_SET_PROTOCOL_FEATURES,
      VHOST_USER_GET_QUEUE_NUM,  VHOST_USER_SET_BACKEND_REQ_FD,    VHOST_USER_SET_OWNER,
      VHOST_USER_GET_FEATURES,   VHOST_USER_SET_VRING_CALL,        VHOST_USER_SET_VRING_ERR,
      VHOST_USER_SET_VRING_CALL, VHOST_USER_SET_VRING_ERR,         VHOST_USER_GET_CONFIG,
      VHOST_USER_SET_FEATURES,   VHOST_USER_SET_MEM_TABLE,         VHOST_USER_SET_VRING_NUM,
      VHOST_USER_SET_VRING_BASE, VHOST_USER_SET_VRING_ADDR,        VHOST_USER_SET_VRING_KICK,
      VHOST_USER_SET_VRING_NUM,  VHOST_USER_SET_VRING_BASE,        VHOST_USER_SET_VRING_ADDR,
      VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_ENABLE,      VHOST_USER_SET_VRING_ENABLE};
  ASSERT_EQ(seen.size(), expected.size());
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].request, expected[i]) << "message " << i;
    const bool get = seen[i].request == VHOST_USER_GET_FEATURES ||
                     seen[i].request == VHOST_USER_GET_PROTOCOL_FEATURES ||
                     seen[i].request == VHOST_USER_GET_QUEUE_NUM ||
                     seen[i].request == VHOST_USER_GET_CONFIG ||
                     seen[i].request == VHOST_USER_SET_PROTOCOL_FEATURES;
    EXPECT_EQ(seen[i].flags, get ? 0x1u : 0x9u) << frontendRequestName(seen[i].request);
  }
  // Protocol features: our wanted set intersected with the offer (STATUS not taken).
  EXPECT_EQ(u64Of(seen[2]), 0x42629u);
  EXPECT_EQ(seen[4].fds.size(), 1u);  // the back-end channel socket
  EXPECT_EQ(u64Of(seen[7]), 0u);      // SET_VRING_CALL index 0
  EXPECT_EQ(seen[7].fds.size(), 1u);
  EXPECT_EQ(u64Of(seen[9]), 1u);
  EXPECT_EQ(u64Of(seen[12]), (1ull << 32) | (1ull << 30) | (1ull << 28) | 0x7);

  // SET_MEM_TABLE: one region, the memfd itself.
  const auto& mem = seen[13];
  ASSERT_EQ(mem.payload.size(), 8 + sizeof(VhostUserMemoryRegion));
  ASSERT_EQ(mem.fds.size(), 1u);
  auto region = readWire<VhostUserMemoryRegion>(mem.payload, 8);
  ASSERT_TRUE(region);
  EXPECT_EQ(region->guest_phys_addr, ram_.base());
  EXPECT_EQ(region->memory_size, ram_.size());
  EXPECT_EQ(region->userspace_addr, ram_.userAddr());
  EXPECT_EQ(region->mmap_offset, 0u);
  struct stat mine {
  }, theirs{};
  ASSERT_EQ(::fstat(ram_.fd(), &mine), 0);
  ASSERT_EQ(::fstat(mem.fds[0].get(), &theirs), 0);
  EXPECT_EQ(mine.st_ino, theirs.st_ino);

  // Ring setup for queue 0: size, base 0, user addresses of the rings in our mapping.
  auto num = readWire<VhostUserVringState>(seen[14].payload);
  EXPECT_EQ(num->index, 0u);
  EXPECT_EQ(num->num, 16u);
  EXPECT_EQ(readWire<VhostUserVringState>(seen[15].payload)->num, 0u);
  auto addr = readWire<VhostUserVringAddr>(seen[16].payload);
  ASSERT_TRUE(addr);
  EXPECT_EQ(addr->desc_user_addr, ram_.userAddr() + (queues_[0].descGpa() - ram_.base()));
  EXPECT_EQ(addr->avail_user_addr, ram_.userAddr() + (queues_[0].availGpa() - ram_.base()));
  EXPECT_EQ(addr->used_user_addr, ram_.userAddr() + (queues_[0].usedGpa() - ram_.base()));
  EXPECT_EQ(seen[17].fds.size(), 1u);
  EXPECT_EQ(readWire<VhostUserVringState>(seen[22].payload)->num, 1u);  // enable

  EXPECT_EQ(frontend_->config().max_caps_length, 4096u);
  EXPECT_EQ(frontend_->queueCount(), 2u);
}

TEST_F(VhostUserFrontendTest, WithoutReplyAckNothingWaitsForAcks) {
  BackendScript script;
  script.protocolFeatures =
      (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << VHOST_USER_PROTOCOL_F_SHARED_OBJECT);
  FrontendOptions options;
  options.negotiateSharedObject = false;
  Status result;
  auto seen = handshake(script, options, &result);
  ASSERT_TRUE(result) << result.error().message;
  for (const auto& m : seen) EXPECT_EQ(m.flags, 0x1u) << frontendRequestName(m.request);
  ASSERT_GE(seen.size(), 3u);
  EXPECT_EQ(u64Of(seen[2]), 1ull << VHOST_USER_PROTOCOL_F_CONFIG);
  // No MQ: no GET_QUEUE_NUM; no BACKEND_REQ: no channel.
  EXPECT_EQ(seen[3].request, VHOST_USER_SET_OWNER);
  EXPECT_FALSE(frontend_->takeBackendChannel().isValid());
}

TEST_F(VhostUserFrontendTest, RefusedMessageIsNamed) {
  BackendScript script;
  script.refuseRequest = VHOST_USER_SET_MEM_TABLE;
  Status result;
  handshake(script, FrontendOptions{}, &result);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("vdec-device at test refused SET_MEM_TABLE"),
            std::string::npos)
      << result.error().message;
}

TEST_F(VhostUserFrontendTest, ReplyWithWrongFlagsIsRejected) {
  BackendScript script;
  script.badFlagsRequest = VHOST_USER_GET_PROTOCOL_FEATURES;
  Status result;
  handshake(script, FrontendOptions{}, &result);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("GET_PROTOCOL_FEATURES"), std::string::npos);
}

TEST_F(VhostUserFrontendTest, ZeroCapsLengthFailsLikeTheGuestProbe) {
  BackendScript script;
  script.config.max_caps_length = 0;
  Status result;
  handshake(script, FrontendOptions{}, &result);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("max_caps_length"), std::string::npos);
}

TEST_F(VhostUserFrontendTest, ConnectRetriesUntilTheDaemonListens) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("vdec-frontend-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "sock").string();
  UniqueFd listener;
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(fd.get(), 1), 0);
    listener = std::move(fd);
  });
  auto frontend = VhostUserFrontend::connect(path, FrontendOptions{});
  late.join();
  EXPECT_TRUE(frontend) << frontend.error().message;

  auto missing = VhostUserFrontend::connect((dir / "none").string(), FrontendOptions{},
                                            std::chrono::milliseconds(100));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot connect"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vdec::harness
