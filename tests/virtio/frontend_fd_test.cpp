// SPDX-License-Identifier: MIT
#include "virtio/frontend_fd.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

#include <gtest/gtest.h>

#include "tests/virtio/virtio_test_util.h"

namespace vdec::virtio {
namespace {

bool nonBlocking(int fd) { return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

struct Pipe {
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read = UniqueFd(fds[0]);
    write = UniqueFd(fds[1]);
  }
  UniqueFd read, write;
};

TEST(FrontendFdTest, AcceptsEventFdsAndPipesAndMakesThemNonBlocking) {
  UniqueFd event(::eventfd(0, EFD_CLOEXEC));  // blocking, as a careless front-end sends it
  ASSERT_TRUE(prepareNotifyFd(event.get(), "kick").has_value());
  EXPECT_TRUE(nonBlocking(event.get()));
  Pipe pipe;
  ASSERT_TRUE(prepareNotifyFd(pipe.read.get(), "kick").has_value());
  EXPECT_TRUE(nonBlocking(pipe.read.get()));
}

TEST(FrontendFdTest, RefusesFdsThatAreNoNotifier) {
  UniqueFd memfd = testing::makeMemfd(4096);
  EXPECT_FALSE(prepareNotifyFd(memfd.get(), "call").has_value());  // would grow for ever
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd a(pair[0]), b(pair[1]);
  EXPECT_FALSE(prepareNotifyFd(a.get(), "call").has_value());
}

// Issue 10 finding 2a/2c: a kick fd read when nothing is pending (the same eventfd given for two
// rings, or a replaced fd read in the old fd's epoll batch) must not block.
TEST(FrontendFdTest, DrainingAnEmptyBlockingEventFdDoesNotBlock) {
  UniqueFd event(::eventfd(0, EFD_CLOEXEC));
  EXPECT_EQ(drainKick(event.get()), KickState::kEmpty);
  ASSERT_EQ(::eventfd_write(event.get(), 3), 0);
  EXPECT_EQ(drainKick(event.get()), KickState::kKicked);
  EXPECT_EQ(drainKick(event.get()), KickState::kEmpty);
}

// Issue 10 finding 2d: a pipe whose writer is gone reads end-of-file for ever.
TEST(FrontendFdTest, PipeWithoutWriterHangsUp) {
  Pipe pipe;
  ASSERT_EQ(::write(pipe.write.get(), "k", 1), 1);
  EXPECT_EQ(drainKick(pipe.read.get()), KickState::kKicked);
  pipe.write.reset();
  EXPECT_EQ(drainKick(pipe.read.get()), KickState::kHungUp);
}

// Issue 10 finding 2b: a full eventfd counter or a full pipe is "already signalled".
TEST(FrontendFdTest, SignallingAFullCallFdDoesNotBlock) {
  UniqueFd event(::eventfd(0, EFD_CLOEXEC));
  ASSERT_EQ(::eventfd_write(event.get(), 0xfffffffffffffffeull), 0);
  EXPECT_TRUE(signalCall(event.get()));
  Pipe pipe;
  ASSERT_EQ(::fcntl(pipe.write.get(), F_SETFL, O_NONBLOCK), 0);
  char fill[4096] = {};
  while (::write(pipe.write.get(), fill, sizeof(fill)) > 0) {
  }
  ASSERT_EQ(::fcntl(pipe.write.get(), F_SETFL, 0), 0);  // the front-end made it blocking again
  EXPECT_TRUE(signalCall(pipe.write.get()));
}

}  // namespace
}  // namespace vdec::virtio
