// SPDX-License-Identifier: MIT
#include "samples/bench/device_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace vdec::bench {

Result<std::unique_ptr<DeviceProcess>> DeviceProcess::start(
    const std::string& binary, const std::string& dir, const std::vector<std::string>& extraArgs) {
  if (access(binary.c_str(), X_OK) != 0)
    return makeError(ErrorCode::kInvalidParameter, "no vdec-device at {} (see --device)", binary);
  auto process = std::unique_ptr<DeviceProcess>(new DeviceProcess());
  process->socket_ = dir + "/vdec.sock";
  process->log_ = dir + "/device.log";
  std::vector<std::string> argv{binary, "--socket-path", process->socket_};
  const bool ownLevel = std::any_of(extraArgs.begin(), extraArgs.end(), [](const std::string& a) {
    return a.rfind("--log-level", 0) == 0;
  });
  if (!ownLevel) argv.insert(argv.end(), {"--log-level", "warn"});
  argv.insert(argv.end(), extraArgs.begin(), extraArgs.end());
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);

  // Everything the child needs is prepared before fork(): only async-signal-safe calls after.
  const int logFd = open(process->log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (logFd < 0) return makeError(ErrorCode::kBackendFailure, "cannot create {}", process->log_);
  const pid_t pid = fork();
  if (pid == 0) {
    // Its own session, hence its own scheduler autogroup, as a daemon in its own service cgroup:
    // the CPU its decoders use is not charged to the guest side (this process), and the other
    // way round. It no longer gets the terminal's Ctrl-C, so it goes when this process does.
    setsid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(logFd, STDOUT_FILENO);
    dup2(logFd, STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(logFd);
  if (pid < 0) return makeError(ErrorCode::kBackendFailure, "fork() failed");
  process->pid_ = pid;
  for (int i = 0; i < 500 && !std::filesystem::exists(process->socket_); ++i) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      process->pid_ = -1;
      return makeError(ErrorCode::kBackendFailure, "vdec-device exited at start: {}",
                       process->logTail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!std::filesystem::exists(process->socket_))
    return makeError(ErrorCode::kBackendFailure, "vdec-device did not create {}", process->socket_);
  return process;
}

DeviceProcess::~DeviceProcess() { stop(); }

void DeviceProcess::stop() {
  if (pid_ < 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 300; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

Result<double> DeviceProcess::cpuSeconds() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start at field 3 (state); utime and
  // stime are fields 14 and 15.
  const auto close = text.rfind(')');
  if (close == std::string::npos)
    return makeError(ErrorCode::kBackendFailure, "cannot read /proc/{}/stat", pid_);
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14) utime = std::stoull(field);
    if (index == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

std::string DeviceProcess::logTail() const {
  std::ifstream in(log_);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > 2000) text = text.substr(text.size() - 2000);
  return text;
}

std::string defaultDeviceBinary() {
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return "vdec-device";
  return (self.parent_path().parent_path() / "virtio" / "vdec-device").string();
}

}  // namespace vdec::bench
