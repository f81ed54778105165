// SPDX-License-Identifier: MIT
// DeviceProcess: one vdec-device daemon started by the benchmark (in its own session), with
// its CPU time readable.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "vdec/base/result.h"

namespace vdec::bench {

// Owns the child process and its socket folder; SIGTERM (then SIGKILL) on destruction.
// Threads: one owner thread.
class DeviceProcess {
 public:
  // Starts `binary --socket-path <dir>/vdec.sock --log-level warn <extraArgs>` (no --log-level
  // of ours when extraArgs has one) with its output
  // in <dir>/device.log and waits up to 5 s for the socket to appear.
  static Result<std::unique_ptr<DeviceProcess>> start(const std::string& binary,
                                                      const std::string& dir,
                                                      const std::vector<std::string>& extraArgs);
  ~DeviceProcess();
  DeviceProcess(const DeviceProcess&) = delete;
  DeviceProcess& operator=(const DeviceProcess&) = delete;

  const std::string& socketPath() const { return socket_; }
  pid_t pid() const { return pid_; }
  // User + system CPU seconds of all its threads so far (/proc/<pid>/stat, clock-tick resolution).
  Result<double> cpuSeconds() const;
  // The last lines of its log, for error messages.
  std::string logTail() const;
  void stop();

 private:
  DeviceProcess() = default;
  std::string socket_;
  std::string log_;
  pid_t pid_ = -1;
};

// The daemon next to this binary's build tree: <dir of /proc/self/exe>/../virtio/vdec-device.
std::string defaultDeviceBinary();

}  // namespace vdec::bench
