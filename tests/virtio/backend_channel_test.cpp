// SPDX-License-Identifier: MIT
#include "virtio/backend_channel.h"

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

}  // namespace
}  // namespace vdec::virtio
