// SPDX-License-Identifier: MIT
#include "virtio/frontend_fd.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace vdec::virtio {
namespace {

bool isEventFd(int fd) {
  char path[64];
  char target[64];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  const ssize_t n = ::readlink(path, target, sizeof(target));
  return n > 0 && std::string_view(target, static_cast<size_t>(n)) == "anon_inode:[eventfd]";
}

// Re-asserts O_NONBLOCK (see the header); false if fcntl itself fails.
bool ensureNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return false;
  if ((flags & O_NONBLOCK) != 0) return true;
  return ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

}  // namespace

Status prepareNotifyFd(int fd, const char* what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return makeError(ErrorCode::kInvalidParameter, "{} fd: fstat: {}", what, std::strerror(errno));
  }
  if (!S_ISFIFO(st.st_mode) && !isEventFd(fd)) {
    return makeError(ErrorCode::kInvalidParameter,
                     "{} fd is neither an eventfd nor a pipe (mode {:#o})", what, st.st_mode);
  }
  if (!ensureNonBlocking(fd)) {
    return makeError(ErrorCode::kInvalidParameter, "{} fd: O_NONBLOCK: {}", what,
                     std::strerror(errno));
  }
  return okStatus();
}

KickState drainKick(int fd) {
  if (!ensureNonBlocking(fd)) return KickState::kHungUp;
  // An eventfd hands out its whole counter in one 8-byte read; a pipe may hold many kicks.
  // Four reads of 64 bytes bound the work per event; what is left wakes the loop again.
  uint8_t buffer[64];
  KickState state = KickState::kEmpty;
  for (int i = 0; i < 4; ++i) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      state = KickState::kKicked;
      continue;
    }
    if (n == 0) return KickState::kHungUp;  // pipe with no writer left
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return state;
    return KickState::kHungUp;
  }
  return state;
}

bool signalCall(int fd) {
  if (!ensureNonBlocking(fd)) return false;
  const uint64_t one = 1;
  ssize_t n;
  do {
    n = ::write(fd, &one, sizeof(one));
  } while (n < 0 && errno == EINTR);
  return n >= 0 || errno == EAGAIN;
}

}  // namespace vdec::virtio
