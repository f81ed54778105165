// SPDX-License-Identifier: MIT
#include "samples/harness/spawned_device.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace vdec::harness {
namespace {

constexpr int kChildFd = 3;

// The exit status of pid if it has exited (reaped), else -1; polls until the deadline.
int reap(pid_t pid, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) return 0;  // not our child any more: nothing to wait for
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

Result<std::unique_ptr<SpawnedDevice>> SpawnedDevice::start(
    const std::string& binary, const std::vector<std::string>& extraArgs) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return makeError(ErrorCode::kBackendFailure, "socketpair: {}", std::strerror(errno));
  }
  UniqueFd ours(fds[0]);
  UniqueFd theirs(fds[1]);
  std::vector<std::string> argv{binary, "--fd", std::to_string(kChildFd)};
  argv.insert(argv.end(), extraArgs.begin(), extraArgs.end());
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) return makeError(ErrorCode::kBackendFailure, "fork: {}", std::strerror(errno));
  if (pid == 0) {
    // dup2 clears FD_CLOEXEC on the copy; when the end already is fd 3, clear it by hand.
    if (theirs.get() == kChildFd) {
      ::fcntl(kChildFd, F_SETFD, 0);
    } else if (::dup2(theirs.get(), kChildFd) < 0) {
      _exit(127);
    }
    ::execv(args[0], args.data());
    _exit(127);
  }
  return std::unique_ptr<SpawnedDevice>(new SpawnedDevice(std::move(ours), pid));
}

Status SpawnedDevice::waitForExit(std::chrono::milliseconds timeout) {
  if (pid_ < 0) return okStatus();
  socket_.reset();
  int status = reap(pid_, std::chrono::steady_clock::now() + timeout);
  const pid_t pid = pid_;
  if (status == -1) {
    ::kill(pid_, SIGTERM);
    status = reap(pid_, std::chrono::steady_clock::now() + std::chrono::seconds(5));
    if (status == -1) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
    return makeError(ErrorCode::kBackendFailure,
                     "vdec-device (pid {}) still ran {} ms after its front-end closed", pid,
                     timeout.count());
  }
  pid_ = -1;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return okStatus();
  if (WIFEXITED(status)) {
    return makeError(ErrorCode::kBackendFailure, "vdec-device (pid {}) exited with status {}",
                     pid, WEXITSTATUS(status));
  }
  return makeError(ErrorCode::kBackendFailure, "vdec-device (pid {}) died of signal {}", pid,
                   WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

SpawnedDevice::~SpawnedDevice() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

}  // namespace vdec::harness
