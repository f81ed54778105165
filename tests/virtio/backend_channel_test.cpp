// SPDX-License-Identifier: MIT
#include "virtio/backend_channel.h"

#include <poll.h>
#include <sys/socket.h>

#include <thread>

#include <gtest/gtest.h>

#include "tests/virtio/virtio_test_util.h"
#include "vdec/base/wire.h"
#include "virtio/vhost_user_message.h"

namespace vdec::virtio {
namespace {

using namespace vdec::vhost;  // NOLINT(google-build-using-namespace)

struct Pair {
  Pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    backend = UniqueFd(fds[0]);
    frontend = UniqueFd(fds[1]);
  }
  UniqueFd backend, frontend;
};

// Plays the front-end: checks the LOOKUP request, answers `result` with `fd` (-1: none).
void answerLookup(int socket, const buffers::Uuid& expected, uint64_t result, int fd) {
  auto request = receiveMessage(socket, std::chrono::seconds(2));
  ASSERT_TRUE(request.has_value() && request->has_value());
  const VhostUserMessage& m = **request;
  EXPECT_EQ(m.header.request, VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP);
  EXPECT_EQ(m.header.flags, VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK);
  ASSERT_EQ(m.payload.size(), 16u);
  EXPECT_EQ(std::memcmp(m.payload.data(), expected.data(), 16), 0);
  std::vector<int> fds;
  if (fd >= 0) fds.push_back(fd);
  VhostUserHeader reply{m.header.request, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK, 0};
  EXPECT_TRUE(sendMessage(socket, reply, toBytes(result), fds).has_value());
}

const buffers::Uuid kUuid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

TEST(BackendChannelTest, LookupReturnsTheFd) {
  Pair pair;
  UniqueFd memfd = testing::makeMemfd(4096);
  std::thread frontend([&] { answerLookup(pair.frontend.get(), kUuid, 0, memfd.get()); });
  BackendChannel channel(std::move(pair.backend));
  auto fd = channel.lookup(kUuid);
  frontend.join();
  ASSERT_TRUE(fd.has_value()) << fd.error().message;
  EXPECT_TRUE(fd->isValid());
  EXPECT_NE(fd->get(), memfd.get());
}

TEST(BackendChannelTest, UnknownUuid) {
  Pair pair;
  std::thread frontend([&] { answerLookup(pair.frontend.get(), kUuid, 1, -1); });
  BackendChannel channel(std::move(pair.backend));
  auto fd = channel.lookup(kUuid);
  frontend.join();
  ASSERT_FALSE(fd.has_value());
  EXPECT_EQ(fd.error().code, ErrorCode::kInvalidParameter);
}

TEST(BackendChannelTest, SuccessWithoutFdIsUnsupported) {
  Pair pair;
  std::thread frontend([&] { answerLookup(pair.frontend.get(), kUuid, 0, -1); });
  BackendChannel channel(std::move(pair.backend));
  auto fd = channel.lookup(kUuid);
  frontend.join();
  ASSERT_FALSE(fd.has_value());
  EXPECT_EQ(fd.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(fd.error().message.find("QEMU 10.2"), std::string::npos);
}

TEST(BackendChannelTest, SilentFrontEndTimesOut) {
  Pair pair;
  BackendChannel channel(std::move(pair.backend), std::chrono::milliseconds(50));
  auto fd = channel.lookup(kUuid);
  ASSERT_FALSE(fd.has_value());
  EXPECT_EQ(fd.error().code, ErrorCode::kBackendFailure);
}

TEST(BackendChannelTest, ClosedFrontEnd) {
  Pair pair;
  pair.frontend.reset();
  BackendChannel channel(std::move(pair.backend));
  EXPECT_FALSE(channel.lookup(kUuid).has_value());
}

// Issue 10 finding 9: a front-end that never answers used to cost the full timeout (2 s) on every
// RESOURCE_CREATE. Now one lookup waits, later ones fail at once until the late reply arrives,
// and that late reply is never taken for the answer to a later request.
TEST(BackendChannelTest, UnansweredLookupIsNotRepeatedUntilItsReplyArrives) {
  Pair pair;
  UniqueFd memfd = testing::makeMemfd(4096);
  BackendChannel channel(std::move(pair.backend), std::chrono::milliseconds(50));
  auto first = channel.lookup(kUuid);
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().code, ErrorCode::kBackendFailure);
  auto second = channel.lookup(kUuid);  // fails without asking
  ASSERT_FALSE(second.has_value());
  EXPECT_NE(second.error().message.find("earlier"), std::string::npos) << second.error().message;
  // Exactly one request went out.
  auto request = receiveMessage(pair.frontend.get(), std::chrono::seconds(2));
  ASSERT_TRUE(request.has_value() && request->has_value());
  pollfd pfd{pair.frontend.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&pfd, 1, 0), 0);
  // The late answer ("unknown uuid") arrives; the next lookup drops it and gets its own answer.
  VhostUserHeader reply{VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP,
                        VHOST_USER_VERSION | VHOST_USER_REPLY_MASK, 0};
  ASSERT_TRUE(sendMessage(pair.frontend.get(), reply, toBytes(uint64_t{1})).has_value());
  std::thread frontend([&] { answerLookup(pair.frontend.get(), kUuid, 0, memfd.get()); });
  auto third = channel.lookup(kUuid);
  frontend.join();
  ASSERT_TRUE(third.has_value()) << third.error().message;
  EXPECT_TRUE(third->isValid());
}

TEST(BackendChannelTest, DefaultTimeoutIsSmall) {
  EXPECT_LE(BackendChannel::kLookupTimeout, std::chrono::milliseconds(200));
  EXPECT_LE(kMessageTimeout, std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace vdec::virtio
