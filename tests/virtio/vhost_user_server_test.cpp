// SPDX-License-Identifier: MIT
#include "virtio/vhost_user_server.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/virtio/virtio_test_util.h"
#include "vdec/base/wire.h"

namespace vdec::virtio {
namespace {

using namespace vdec::vhost;  // NOLINT(google-build-using-namespace)
using testing::kGuestBase;
using testing::kUserBase;

constexpr uint32_t kNeedReply = VHOST_USER_NEED_REPLY_MASK;

// Two queues; a kick completes every chain with its readable length.
class FakeDevice : public VirtioDevice {
 public:
  uint64_t features() const override { return 1; }
  std::vector<std::byte> configSpace() const override {
    std::vector<std::byte> config(16);
    for (size_t i = 0; i < config.size(); ++i) config[i] = std::byte(i);
    return config;
  }
  uint32_t numQueues() const override { return 2; }
  uint16_t maxQueueSize() const override { return 256; }
  void setGuestMemory(std::shared_ptr<const buffers::GuestMemory> memory) override {
    hasMemory = memory != nullptr;
  }
  void setObjectResolver(buffers::ObjectResolver* r) override { resolver = r; }
  void onQueueKick(uint32_t index, QueueTable queues) override {
    ++kicks;
    Virtqueue& queue = *queues[index];
    for (auto chain = queue.popChain(); chain && *chain; chain = queue.popChain()) {
      queue.pushUsed((*chain)->head, static_cast<uint32_t>((*chain)->readableBytes));
    }
    queue.notify();
  }
  void reset() override { ++resets; }

  std::atomic<bool> hasMemory{false};
  std::atomic<buffers::ObjectResolver*> resolver{nullptr};
  std::atomic<int> kicks{0};
  std::atomic<int> resets{0};
};

class Client {
 public:
  explicit Client(const std::string& path) {
    fd_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  void send(uint32_t request, std::span<const std::byte> payload, uint32_t flags = 0,
            std::vector<int> fds = {}) {
    VhostUserHeader header{request, VHOST_USER_VERSION | flags, 0};
    EXPECT_TRUE(sendMessage(fd_.get(), header, payload, fds).has_value());
  }
  template <typename T>
  void sendValue(uint32_t request, const T& value, uint32_t flags = 0, std::vector<int> fds = {}) {
    send(request, toBytes(value), flags, std::move(fds));
  }
  // The next reply; checks flags and request id.
  VhostUserMessage reply(uint32_t request) {
    auto m = receiveMessage(fd_.get(), std::chrono::seconds(2));
    EXPECT_TRUE(m.has_value() && m->has_value()) << "no reply to " << request;
    if (!m || !*m) return {};
    EXPECT_EQ((*m)->header.flags, 0x5u);
    EXPECT_EQ((*m)->header.request, request);
    return std::move(**m);
  }
  uint64_t replyU64(uint32_t request) {
    auto m = reply(request);
    auto value = readWire<uint64_t>(m.payload);
    EXPECT_EQ(m.payload.size(), 8u);
    return value.value_or(~0ull);
  }
  // Sends with NEED_REPLY and returns the REPLY_ACK value.
  template <typename T>
  uint64_t ack(uint32_t request, const T& value, std::vector<int> fds = {}) {
    sendValue(request, value, kNeedReply, std::move(fds));
    return replyU64(request);
  }
  bool closedByPeer() {
    auto m = receiveMessage(fd_.get(), std::chrono::seconds(2));
    return !m || !*m;
  }
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
};

class VhostUserServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/vdec-vu-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/vu.sock";
    auto server = VhostUserServer::listen(path_, device_);
    ASSERT_TRUE(server.has_value()) << server.error().message;
    server_ = std::move(*server);
    thread_ = std::thread([this] { EXPECT_TRUE(server_->run().has_value()); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  void negotiateReplyAck(Client& c) {
    c.sendValue(VHOST_USER_SET_PROTOCOL_FEATURES, uint64_t{1} << VHOST_USER_PROTOCOL_F_REPLY_ACK);
  }
  VhostUserMemory memoryTable(uint64_t size) {
    VhostUserMemory table{};
    table.nregions = 1;
    table.regions[0] = {kGuestBase, size, kUserBase, 0};
    return table;
  }

  std::string dir_, path_;
  FakeDevice device_;
  std::unique_ptr<VhostUserServer> server_;
  std::thread thread_;
};

TEST_F(VhostUserServerTest, Handshake) {
  Client c(path_);
  c.send(VHOST_USER_GET_FEATURES, {});
  EXPECT_EQ(c.replyU64(VHOST_USER_GET_FEATURES), VhostUserServer::kTransportFeatures | 1);
  c.send(VHOST_USER_GET_PROTOCOL_FEATURES, {});
  EXPECT_EQ(c.replyU64(VHOST_USER_GET_PROTOCOL_FEATURES), VhostUserServer::kProtocolFeatures);
  c.sendValue(VHOST_USER_SET_PROTOCOL_FEATURES, VhostUserServer::kProtocolFeatures);
  c.send(VHOST_USER_GET_QUEUE_NUM, {});
  EXPECT_EQ(c.replyU64(VHOST_USER_GET_QUEUE_NUM), 2u);

  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd ours(pair[0]), theirs(pair[1]);
  EXPECT_EQ(c.ack(VHOST_USER_SET_BACKEND_REQ_FD, uint64_t{0}, {theirs.get()}), 0u);
  EXPECT_NE(device_.resolver.load(), nullptr);
  EXPECT_EQ(c.ack(VHOST_USER_SET_OWNER, uint64_t{0}), 0u);
  EXPECT_EQ(c.ack(VHOST_USER_SET_FEATURES, VhostUserServer::kTransportFeatures), 0u);
  EXPECT_EQ(c.ack(VHOST_USER_SET_FEATURES, uint64_t{1} << 60), 1u);  // never offered
  EXPECT_EQ(c.ack(VHOST_USER_SET_STATUS, uint64_t{0xf}), 0u);
  c.send(VHOST_USER_GET_STATUS, {});
  EXPECT_EQ(c.replyU64(VHOST_USER_GET_STATUS), 0xfu);
}

TEST_F(VhostUserServerTest, GetConfigServesRangesInside) {
  Client c(path_);
  auto getConfig = [&](uint32_t offset, uint32_t size, size_t payloadBytes) {
    std::vector<std::byte> request = toBytes(VhostUserConfigHeader{offset, size, 0});
    request.resize(sizeof(VhostUserConfigHeader) + payloadBytes);
    c.send(VHOST_USER_GET_CONFIG, request);
    return c.reply(VHOST_USER_GET_CONFIG).payload;
  };
  auto ok = getConfig(4, 8, 8);
  ASSERT_EQ(ok.size(), 12u + 8u);
  EXPECT_EQ(std::to_integer<int>(ok[12]), 4);
  EXPECT_EQ(std::to_integer<int>(ok[19]), 11);
  EXPECT_EQ(getConfig(0, 16, 16).size(), 28u);
  EXPECT_TRUE(getConfig(8, 16, 16).empty());  // runs past the end
  EXPECT_TRUE(getConfig(0, 8, 4).empty());    // payload does not match size
  EXPECT_TRUE(getConfig(0xffffffff, 2, 2).empty());
  EXPECT_TRUE(getConfig(0, 0, 0).empty());
}

TEST_F(VhostUserServerTest, ReplyAckOnlyWhenNegotiated) {
  Client c(path_);
  c.send(VHOST_USER_SET_OWNER, {}, kNeedReply);  // no REPLY_ACK yet: no answer
  c.send(VHOST_USER_GET_QUEUE_NUM, {});
  EXPECT_EQ(c.replyU64(VHOST_USER_GET_QUEUE_NUM), 2u);
  negotiateReplyAck(c);
  EXPECT_EQ(c.ack(VHOST_USER_SET_OWNER, uint64_t{0}), 0u);
  EXPECT_EQ(c.ack(VHOST_USER_SET_VRING_NUM, VhostUserVringState{5, 8}), 1u);    // bad index
  EXPECT_EQ(c.ack(VHOST_USER_SET_VRING_NUM, VhostUserVringState{0, 3}), 1u);    // not a power of 2
  EXPECT_EQ(c.ack(VHOST_USER_SET_VRING_NUM, VhostUserVringState{0, 512}), 1u);  // > max
  EXPECT_EQ(c.ack(VHOST_USER_SET_VRING_NUM, VhostUserVringState{1, 256}), 0u);
}

TEST_F(VhostUserServerTest, BadRequestsAreAnsweredAndSurvived) {
  Client c(path_);
  negotiateReplyAck(c);
  EXPECT_EQ(c.ack(VHOST_USER_SET_VRING_NUM, uint32_t{0}), 1u);  // short payload
  EXPECT_EQ(c.ack(99u, uint64_t{0}), 1u);                       // unknown request
  EXPECT_EQ(c.ack(VHOST_USER_SET_LOG_BASE, uint64_t{0}), 1u);   // no migration
  EXPECT_EQ(c.ack(VHOST_USER_SET_CONFIG, VhostUserConfigHeader{}), 1u);
  EXPECT_EQ(c.ack(VHOST_USER_SET_VRING_KICK, uint64_t{0}), 1u);       // fd missing
  EXPECT_EQ(c.ack(VHOST_USER_SET_BACKEND_REQ_FD, uint64_t{0}), 1u);   // fd missing
  c.sendValue(VHOST_USER_GET_VRING_BASE, VhostUserVringState{9, 0});  // answered anyway
  EXPECT_EQ(c.reply(VHOST_USER_GET_VRING_BASE).payload.size(), 8u);
  c.send(VHOST_USER_GET_QUEUE_NUM, {});
  EXPECT_EQ(c.replyU64(VHOST_USER_GET_QUEUE_NUM), 2u);
}

TEST_F(VhostUserServerTest, OversizedMessageDropsOnlyThatConnection) {
  {
    Client c(path_);
    negotiateReplyAck(c);
    VhostUserHeader header{VHOST_USER_SET_OWNER, VHOST_USER_VERSION | kNeedReply,
                           kMaxPayloadSize + 1};
    ASSERT_EQ(::send(c.fd(), &header, sizeof(header), MSG_NOSIGNAL), ssize_t{sizeof(header)});
    EXPECT_EQ(c.replyU64(VHOST_USER_SET_OWNER), 1u);
    EXPECT_TRUE(c.closedByPeer());
  }
  Client next(path_);
  next.send(VHOST_USER_GET_QUEUE_NUM, {});
  EXPECT_EQ(next.replyU64(VHOST_USER_GET_QUEUE_NUM), 2u);
}

TEST_F(VhostUserServerTest, TruncatedMessageDropsConnection) {
  Client c(path_);
  VhostUserHeader header{VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, 8};
  ASSERT_EQ(::send(c.fd(), &header, sizeof(header), MSG_NOSIGNAL), ssize_t{sizeof(header)});
  ::shutdown(c.fd(), SHUT_WR);  // the promised 8 bytes never come
  EXPECT_TRUE(c.closedByPeer());
  Client next(path_);
  next.send(VHOST_USER_GET_QUEUE_NUM, {});
  EXPECT_EQ(next.replyU64(VHOST_USER_GET_QUEUE_NUM), 2u);
}

TEST_F(VhostUserServerTest, SetMemTable) {
  Client c(path_);
  negotiateReplyAck(c);
  UniqueFd memfd = testing::makeMemfd(1 << 20);
  VhostUserMemory zeroSized = memoryTable(0);
  EXPECT_EQ(c.ack(VHOST_USER_SET_MEM_TABLE, zeroSized, {memfd.get()}), 1u);
  EXPECT_EQ(c.ack(VHOST_USER_SET_MEM_TABLE, memoryTable(1 << 20), {}), 1u);  // fd missing
  VhostUserMemory tooMany = memoryTable(1 << 20);
  tooMany.nregions = kMaxMemoryRegions + 1;
  EXPECT_EQ(c.ack(VHOST_USER_SET_MEM_TABLE, tooMany, {memfd.get()}), 1u);
  VhostUserMemory wraps = memoryTable(1 << 20);
  wraps.regions[0].guest_phys_addr = ~0ull - 4096;
  EXPECT_EQ(c.ack(VHOST_USER_SET_MEM_TABLE, wraps, {memfd.get()}), 1u);
  EXPECT_FALSE(device_.hasMemory);
  EXPECT_EQ(c.ack(VHOST_USER_SET_MEM_TABLE, memoryTable(1 << 20), {memfd.get(), memfd.get()}), 1u);
  EXPECT_EQ(c.ack(VHOST_USER_SET_MEM_TABLE, memoryTable(1 << 20), {memfd.get()}), 0u);
  EXPECT_TRUE(device_.hasMemory);
}

TEST_F(VhostUserServerTest, RingRoundTrip) {
  testing::TestRam ram(1 << 20);
  testing::TestRing ring(ram, 8, 0);
  Client c(path_);
  negotiateReplyAck(c);
  EXPECT_EQ(c.ack(VHOST_USER_SET_FEATURES, VhostUserServer::kTransportFeatures), 0u);
  EXPECT_EQ(
      c.ack(VHOST_USER_SET_MEM_TABLE, memoryTable(ram.size), {ram.memory->regions()[0].fd.get()}),
      0u);
  UniqueFd kick(::eventfd(0, EFD_CLOEXEC)), call(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  const VirtqueueLayout layout = ring.layout();
  EXPECT_EQ(c.ack(VHOST_USER_SET_VRING_NUM, VhostUserVringState{0, 8}), 0u);
  EXPECT_EQ(c.ack(VHOST_USER_SET_VRING_BASE, VhostUserVringState{0, 0}), 0u);
  EXPECT_EQ(c.ack(VHOST_USER_SET_VRING_ADDR,
                  VhostUserVringAddr{0, 0, layout.descUserAddr, layout.usedUserAddr,
                                     layout.availUserAddr, 0}),
            0u);
  EXPECT_EQ(c.ack(VHOST_USER_SET_VRING_CALL, uint64_t{0}, {call.get()}), 0u);
  EXPECT_EQ(c.ack(VHOST_USER_SET_VRING_KICK, uint64_t{0}, {kick.get()}), 0u);
  EXPECT_EQ(c.ack(VHOST_USER_SET_VRING_ENABLE, VhostUserVringState{0, 1}), 0u);

  ring.setDesc(0, kGuestBase + 0x10000, 24, vring::VRING_DESC_F_NEXT, 1);
  ring.setDesc(1, kGuestBase + 0x11000, 8, vring::VRING_DESC_F_WRITE);
  ring.publish(0);
  eventfd_t stale = 0;
  ::eventfd_read(call.get(), &stale);  // SET_VRING_ENABLE already processed the (empty) ring
  ASSERT_EQ(::eventfd_write(kick.get(), 1), 0);
  pollfd pfd{call.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 2000), 1) << "no used-buffer notification";
  EXPECT_EQ(ring.usedIdx(), 1);
  EXPECT_EQ(ring.usedElem(0).len, 24u);

  c.sendValue(VHOST_USER_GET_VRING_BASE, VhostUserVringState{0, 0});
  auto base = readWire<VhostUserVringState>(c.reply(VHOST_USER_GET_VRING_BASE).payload);
  ASSERT_TRUE(base.has_value());
  EXPECT_EQ(base->num, 1u);
}

TEST_F(VhostUserServerTest, DisconnectResetsDeviceAndServesNextClient) {
  {
    Client first(path_);
    negotiateReplyAck(first);
    UniqueFd memfd = testing::makeMemfd(1 << 20);
    EXPECT_EQ(first.ack(VHOST_USER_SET_MEM_TABLE, memoryTable(1 << 20), {memfd.get()}), 0u);
    EXPECT_TRUE(device_.hasMemory);
  }
  Client second(path_);
  second.send(VHOST_USER_GET_QUEUE_NUM, {});
  EXPECT_EQ(second.replyU64(VHOST_USER_GET_QUEUE_NUM), 2u);
  EXPECT_GE(device_.resets.load(), 1);
  EXPECT_FALSE(device_.hasMemory);
  // Per-connection state is gone: REPLY_ACK must be negotiated again.
  second.send(VHOST_USER_SET_OWNER, {}, kNeedReply);
  second.send(VHOST_USER_GET_QUEUE_NUM, {});
  EXPECT_EQ(second.replyU64(VHOST_USER_GET_QUEUE_NUM), 2u);
}

}  // namespace
}  // namespace vdec::virtio
