// SPDX-License-Identifier: MIT
// End to end: the daemon's decoder threads run below its device thread (--decoder-nice,
// --decoder-sched), read from /proc after a real decode. The helper thread that opened the
// decoder (codecs/decoder_threads.h) lives as long as the daemon and carries the priority that
// libavcodec's threads inherited.
#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/daemon_process.h"
#include "tests/integration/process_stats.h"
#include "tests/test_paths.h"

namespace vdec::testing {
namespace {

// Decodes the embedded sample bit-exactly through `daemon`, then returns its threads.
std::vector<ThreadScheduling> threadsAfterADecode(DaemonProcess& daemon) {
  const std::string input = samplesDir() + "/data/testsrc2-320x180.h264";
  auto result = runHarness(daemon.socketPath(), {"decode", input, "--memory", "sg",
                                                 "--expect-md5", input + ".md5"});
  EXPECT_EQ(result.exitCode, 0) << result.output;
  return readThreadScheduling(daemon.pid());
}

const ThreadScheduling* deviceThread(const std::vector<ThreadScheduling>& threads, pid_t pid) {
  auto it = std::find_if(threads.begin(), threads.end(),
                         [pid](const ThreadScheduling& t) { return t.tid == pid; });
  return it == threads.end() ? nullptr : &*it;
}

TEST(DecoderPriorityTest, DecodersRunNiceTenBelowTheDeviceThreadByDefault) {
  const int base = getpriority(PRIO_PROCESS, 0);  // the daemon inherits the test's nice value
  if (base + 10 > 19) GTEST_SKIP() << "the test runs at nice " << base << ": nothing below it";
  DaemonProcess daemon;
  const std::vector<ThreadScheduling> threads = threadsAfterADecode(daemon);
  const ThreadScheduling* device = deviceThread(threads, daemon.pid());
  ASSERT_NE(device, nullptr);
  EXPECT_EQ(device->nice, base);
  EXPECT_EQ(device->policy, SCHED_OTHER);
  EXPECT_TRUE(std::any_of(threads.begin(), threads.end(), [&](const ThreadScheduling& t) {
    return t.nice == base + 10 && t.policy == SCHED_OTHER;
  }));
  EXPECT_TRUE(std::none_of(threads.begin(), threads.end(),
                           [](const ThreadScheduling& t) { return t.policy == SCHED_IDLE; }));
}

TEST(DecoderPriorityTest, DecoderSchedIdleRunsDecodersUnderSchedIdleDeviceThreadKeepsItsOwn) {
  DaemonProcess daemon({"--decoder-sched", "idle"});
  const std::vector<ThreadScheduling> threads = threadsAfterADecode(daemon);
  const ThreadScheduling* device = deviceThread(threads, daemon.pid());
  ASSERT_NE(device, nullptr);
  EXPECT_EQ(device->policy, SCHED_OTHER);
  EXPECT_TRUE(std::any_of(threads.begin(), threads.end(),
                          [](const ThreadScheduling& t) { return t.policy == SCHED_IDLE; }));
}

TEST(DecoderPriorityTest, UnknownDecoderSchedIsRefusedWithTheChoices) {
  const CommandResult result =
      runCommand({deviceBinary(), "--decoder-sched", "fifo", "--socket-path", "/nonexistent"});
  EXPECT_NE(result.exitCode, 0);
  EXPECT_NE(result.output.find("--decoder-sched"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace vdec::testing
