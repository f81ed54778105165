// SPDX-License-Identifier: MIT
// QEMU's "Backend program conventions" (docs/interop/vhost-user.rst) for vdec-device:
// --socket-path, --fd FDNUM, --print-capabilities (docs/interop/vhost-user.json), SIGTERM; and
// systemd socket activation. Needs only the sample clip in samples/data.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "samples/harness/video_driver.h"
#include "tests/integration/daemon_process.h"
#include "tests/test_paths.h"
#include "vdec/base/unique_fd.h"
#include "vdec/protocol/virtio_video.h"

namespace vdec::testing {
namespace {

std::string sampleClip() { return samplesDir() + "/data/testsrc2-320x180.h264"; }

// The exit status of pid once it exits by itself within `seconds`; -1 (and SIGKILL) if not.
int waitForExit(pid_t pid, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

// Starts vdec-device with `fd` as its fd 3 and the given arguments (and environment additions
// applied in the child, where getpid() is the daemon's own pid).
pid_t spawnWithFd3(int fd, const std::vector<std::string>& args, bool socketActivation = false) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (fd == 3) {
      fcntl(3, F_SETFD, 0);
    } else {
      dup2(fd, 3);
    }
    if (socketActivation) {
      setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
      setenv("LISTEN_FDS", "1", 1);
    }
    std::vector<std::string> argv{deviceBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> raw;
    for (auto& a : argv) raw.push_back(a.data());
    raw.push_back(nullptr);
    execv(raw[0], raw.data());
    _exit(127);
  }
  return pid;
}

UniqueFd listeningSocket(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  EXPECT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(listen(fd.get(), 4), 0);
  return fd;
}

TEST(BackendConventionsTest, PrintCapabilitiesIsTheSchemasObjectAndIgnoresOtherArguments) {
  // VHostUserBackendCapabilities: the base member "type" only (no type-specific branch).
  const std::string expected = "{\n  \"type\": \"video\"\n}\n";
  auto plain = runCommand({deviceBinary(), "--print-capabilities"});
  EXPECT_EQ(plain.exitCode, 0);
  EXPECT_EQ(plain.output, expected);
  auto withOthers = runCommand({deviceBinary(), "--no-such-option", "--print-capabilities",
                                "--socket-path", "/nonexistent/dir/x.sock"});
  EXPECT_EQ(withOthers.exitCode, 0);
  EXPECT_EQ(withOthers.output, expected);
}

// --protocol media: the virtio-media daemon's capabilities, found before the command line is
// parsed, in both spellings of the option.
TEST(BackendConventionsTest, PrintCapabilitiesFollowsTheProtocol) {
  const std::string media = "{\n  \"type\": \"media\"\n}\n";
  auto separate = runCommand({deviceBinary(), "--protocol", "media", "--print-capabilities"});
  EXPECT_EQ(separate.exitCode, 0);
  EXPECT_EQ(separate.output, media);
  auto joined = runCommand({deviceBinary(), "--print-capabilities", "--protocol=media"});
  EXPECT_EQ(joined.exitCode, 0);
  EXPECT_EQ(joined.output, media);
  auto video = runCommand({deviceBinary(), "--print-capabilities", "--protocol=video"});
  EXPECT_EQ(video.output, "{\n  \"type\": \"video\"\n}\n");
}

TEST(BackendConventionsTest, HelpNamesTheConventionOptions) {
  auto result = runCommand({deviceBinary(), "--help"});
  ASSERT_EQ(result.exitCode, 0);
  for (const char* option : {"--socket-path", "--fd", "--print-capabilities", "--protocol",
                             "virtio-id=48"}) {
    EXPECT_NE(result.output.find(option), std::string::npos) << option;
  }
}

// The harness plays libvirt: a socketpair, one end to `vdec-device --fd 3`. The daemon serves
// that front-end and exits with status 0 when it closes.
TEST(BackendConventionsTest, HarnessDecodesThroughASocketpairPassedWithFd) {
  auto result = runCommand({harnessBinary(), "--device-binary", deviceBinary(),
                            "--device-arg=--log-level=warn", "decode", sampleClip(), "--memory",
                            "sg", "--expect-md5", sampleClip() + ".md5"});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  EXPECT_NE(result.output.find("decoded 75 frames"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("exited cleanly"), std::string::npos) << result.output;
}

// A connected --fd, driven by this test: the front-end works, and closing it ends the daemon.
TEST(BackendConventionsTest, ConnectedFdServesItsFrontEndThenExits) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd ours(fds[0]), theirs(fds[1]);
  const pid_t pid = spawnWithFd3(theirs.get(), {"--fd", "3", "--log-level", "warn"});
  theirs.reset();
  {
    harness::DriverOptions options;
    options.connectedSocket = ours.get();
    auto driver = harness::VideoDriver::connect(options);
    ASSERT_TRUE(driver.has_value()) << driver.error().message;
    ours.reset();
    EXPECT_TRUE((*driver)->queryCapability(wire::VIRTIO_VIDEO_QUEUE_TYPE_INPUT).has_value());
  }
  const int status = waitForExit(pid, 10);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "exit status " << status;
}

// A listening --fd (and the same through systemd's LISTEN_FDS): front-ends one after another,
// then SIGTERM ends the daemon cleanly.
class ListeningFdTest : public ::testing::TestWithParam<bool> {};

TEST_P(ListeningFdTest, ServesFrontEndsInTurnAndEndsOnSigterm) {
  const bool activation = GetParam();
  TempDir dir;
  const std::string path = dir.file("vdec.sock");
  UniqueFd listener = listeningSocket(path);
  const pid_t pid =
      activation ? spawnWithFd3(listener.get(), {"--log-level", "warn"}, true)
                 : spawnWithFd3(listener.get(), {"--fd", "3", "--log-level", "warn"});
  listener.reset();
  for (const char* memory : {"sg", "object"}) {
    auto result = runHarness(path, {"decode", sampleClip(), "--memory", memory, "--expect-md5",
                                    sampleClip() + ".md5"});
    EXPECT_EQ(result.exitCode, 0) << result.output;
  }
  kill(pid, SIGTERM);
  const int status = waitForExit(pid, 10);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "exit status " << status;
}

INSTANTIATE_TEST_SUITE_P(Endpoints, ListeningFdTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "SystemdSocketActivation" : "FdOption";
                         });

TEST(BackendConventionsTest, BadEndpointsFailEarly) {
  auto notOpen = runCommand({deviceBinary(), "--fd", "99"});
  EXPECT_EQ(notOpen.exitCode, 1) << notOpen.output;
  EXPECT_NE(notOpen.output.find("not a unix stream socket"), std::string::npos) << notOpen.output;
  auto both = runCommand({deviceBinary(), "--fd", "3", "--socket-path", "/tmp/x.sock"});
  EXPECT_NE(both.exitCode, 0) << both.output;
  auto neither = runCommand({deviceBinary()});
  EXPECT_EQ(neither.exitCode, 2) << neither.output;
}

// SIGTERM during a connection: the daemon drops the front-end and exits with status 0.
TEST(BackendConventionsTest, SigtermEndsTheDaemonCleanlyAfterADecode) {
  DaemonProcess daemon;
  auto result = runHarness(daemon.socketPath(), {"decode", sampleClip(), "--memory", "contig"});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  harness::DriverOptions options;
  options.socketPath = daemon.socketPath();
  auto driver = harness::VideoDriver::connect(options);  // stays connected across the SIGTERM
  ASSERT_TRUE(driver.has_value()) << driver.error().message;
  const int status = daemon.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "exit status " << status;
}

}  // namespace
}  // namespace vdec::testing
