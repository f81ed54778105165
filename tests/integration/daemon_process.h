// SPDX-License-Identifier: MIT
// Test helpers that run the real binaries: the vdec-device daemon and the vdec-harness.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace vdec::testing {

// A temporary folder, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Starts vdec-device on a socket in its own temp folder; stops it with SIGTERM on destruction.
class DaemonProcess {
 public:
  explicit DaemonProcess(std::vector<std::string> extraArgs = {});
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  const std::string& socketPath() const { return socket_; }
  bool running();  // false once the process exited
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and returns the exit status (waitpid status), or -1 on timeout.
  int stop();

 private:
  TempDir dir_;
  std::string socket_;
  pid_t pid_ = -1;
};

struct CommandResult {
  int exitCode = -1;     // -1 if killed by a signal or timed out
  std::string output;    // stdout and stderr interleaved
};

// Runs argv[0] with arguments, capturing output; kills it after timeoutSeconds.
CommandResult runCommand(const std::vector<std::string>& argv, int timeoutSeconds = 300);

// The harness with --socket-path SOCKET prepended to args.
CommandResult runHarness(const std::string& socket, const std::vector<std::string>& args,
                         int timeoutSeconds = 300);

std::vector<std::string> readLines(const std::string& path);
// Reads "md5_checksums" from a Chromium test-data JSON file.
std::vector<std::string> readJsonMd5s(const std::string& path);

}  // namespace vdec::testing
