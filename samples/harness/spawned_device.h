// SPDX-License-Identifier: MIT
// SpawnedDevice: a vdec-device the harness starts itself, the way a VMM or libvirt starts a
// vhost-user back-end: one end of a socketpair passed as `--fd N` (QEMU's back-end conventions).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "vdec/base/result.h"
#include "vdec/base/unique_fd.h"

namespace vdec::harness {

// Lifecycle: start() -> the caller connects its front-end through socket() -> closeSocket()
// once the front-end holds its own duplicate -> the front-end closes -> waitForExit(). The
// daemon serves a connected --fd until it closes, so a clean run ends with exit status 0.
// The destructor SIGKILLs a child that is still running. Threads: one owner thread.
class SpawnedDevice {
 public:
  // Runs `binary --fd 3 <extraArgs>` with our socketpair's other end as its fd 3.
  static Result<std::unique_ptr<SpawnedDevice>> start(const std::string& binary,
                                                      const std::vector<std::string>& extraArgs);
  ~SpawnedDevice();
  SpawnedDevice(const SpawnedDevice&) = delete;
  SpawnedDevice& operator=(const SpawnedDevice&) = delete;

  int socket() const { return socket_.get(); }
  void closeSocket() { socket_.reset(); }
  pid_t pid() const { return pid_; }
  // Waits for the child to exit by itself; error if it did not within `timeout` (it is then
  // stopped with SIGTERM) or exited other than with status 0.
  Status waitForExit(std::chrono::milliseconds timeout);

 private:
  SpawnedDevice(UniqueFd socket, pid_t pid) : socket_(std::move(socket)), pid_(pid) {}
  UniqueFd socket_;
  pid_t pid_ = -1;
};

}  // namespace vdec::harness
