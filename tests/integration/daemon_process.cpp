// SPDX-License-Identifier: MIT
#include "tests/integration/daemon_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/test_paths.h"

namespace vdec::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base ? base : "/tmp") + "/vdec-test-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  const char* made = mkdtemp(buffer.data());
  EXPECT_NE(made, nullptr);
  path_ = made ? made : "";
}

TempDir::~TempDir() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

namespace {

pid_t spawn(const std::vector<std::string>& argv, int outFd) {
  pid_t pid = fork();
  if (pid == 0) {
    if (outFd >= 0) {
      dup2(outFd, STDOUT_FILENO);
      dup2(outFd, STDERR_FILENO);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// True once a unix socket bound to `path` is listening (its /proc/net/unix line has the
// __SO_ACCEPTCON flag, 0x10000).
bool isListening(const std::string& path) {
  std::ifstream table("/proc/net/unix");
  std::string line;
  std::getline(table, line);  // header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string num, refCount, protocol, flags, type, state, inode, socketPath;
    fields >> num >> refCount >> protocol >> flags >> type >> state >> inode >> socketPath;
    if (socketPath == path && (std::stoul(flags, nullptr, 16) & 0x10000u) != 0) return true;
  }
  return false;
}

}  // namespace

DaemonProcess::DaemonProcess(std::vector<std::string> extraArgs) {
  socket_ = dir_.file("vdec.sock");
  std::vector<std::string> argv{deviceBinary(), "--socket-path", socket_, "--log-level", "warn"};
  argv.insert(argv.end(), extraArgs.begin(), extraArgs.end());
  pid_ = spawn(argv, -1);
  // The socket file appears at bind(), before listen(): a connect() in between is refused. Wait
  // until the socket is listening (/proc/net/unix flags __SO_ACCEPTCON), up to 5 s.
  for (int i = 0; i < 500 && !isListening(socket_); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(isListening(socket_)) << "vdec-device is not listening on " << socket_;
}

bool DaemonProcess::running() {
  if (pid_ < 0) return false;
  int status = 0;
  return waitpid(pid_, &status, WNOHANG) == 0;
}

int DaemonProcess::stop() {
  if (pid_ < 0) return -1;
  kill(pid_, SIGTERM);
  int status = -1;
  for (int i = 0; i < 500; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

DaemonProcess::~DaemonProcess() { stop(); }

CommandResult runCommand(const std::vector<std::string>& argv, int timeoutSeconds) {
  int pipeFds[2];
  if (pipe2(pipeFds, O_CLOEXEC) != 0) return {};
  pid_t pid = spawn(argv, pipeFds[1]);
  close(pipeFds[1]);
  CommandResult result;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  char buffer[4096];
  bool timedOut = false;
  while (true) {
    pollfd pfd{pipeFds[0], POLLIN, 0};
    int ready = poll(&pfd, 1, 200);
    if (ready > 0) {
      ssize_t n = read(pipeFds[0], buffer, sizeof(buffer));
      if (n <= 0) break;
      result.output.append(buffer, static_cast<size_t>(n));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      timedOut = true;
      kill(pid, SIGKILL);
      break;
    }
  }
  close(pipeFds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!timedOut && WIFEXITED(status)) result.exitCode = WEXITSTATUS(status);
  return result;
}

CommandResult runHarness(const std::string& socket, const std::vector<std::string>& args,
                         int timeoutSeconds) {
  std::vector<std::string> argv{harnessBinary(), "--socket-path", socket};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, timeoutSeconds);
}

std::vector<std::string> readLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> readJsonMd5s(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string json = text.str();
  auto key = json.find("\"md5_checksums\"");
  std::vector<std::string> md5s;
  if (key == std::string::npos) return md5s;
  auto open = json.find('[', key), close = json.find(']', key);
  std::string list = json.substr(open, close - open);
  std::regex hex("[0-9a-f]{32}");
  for (auto it = std::sregex_iterator(list.begin(), list.end(), hex); it != std::sregex_iterator(); ++it) {
    md5s.push_back(it->str());
  }
  return md5s;
}

}  // namespace vdec::testing
