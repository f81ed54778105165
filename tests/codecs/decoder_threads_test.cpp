// SPDX-License-Identifier: MIT
#include "codecs/decoder_threads.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "codecs/ffmpeg_session.h"

namespace vdec::codecs {
namespace {

int threadNice() { return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))); }

// Nice values of every thread of this process, from /proc/self/task/*/stat (field 19).
std::vector<int> taskNiceValues() {
  std::vector<int> values;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));  // from field 3 (state) on
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i)
      if (i == 19) values.push_back(std::stoi(field));
  }
  return values;
}

TEST(DecoderThreadsTest, AutomaticIsTheCoresAtMostFour) {
  EXPECT_EQ(decoderThreadsFor(0, 0, 1, 1), 1);
  EXPECT_EQ(decoderThreadsFor(0, 0, 1, 2), 2);
  EXPECT_EQ(decoderThreadsFor(0, 0, 1, 8), kMaxAutoThreads);
}

TEST(DecoderThreadsTest, ThreadsIsAPerStreamMaximum) {
  EXPECT_EQ(decoderThreadsFor(1, 0, 1, 8), 1);
  EXPECT_EQ(decoderThreadsFor(6, 0, 1, 8), 6);
  EXPECT_EQ(decoderThreadsFor(4, 0, 1, 2), 2);  // not more than the budget (the cores)
  EXPECT_EQ(decoderThreadsFor(100, 64, 1, 64), kMaxThreads);
}

TEST(DecoderThreadsTest, StreamsShareTheBudgetAtLeastOneEach) {
  // 2 cores: the first stream 2, every later one 1 (2+1+1+1 for four, not 4 x 2).
  EXPECT_EQ(decoderThreadsFor(0, 0, 1, 2), 2);
  EXPECT_EQ(decoderThreadsFor(0, 0, 2, 2), 1);
  EXPECT_EQ(decoderThreadsFor(0, 0, 4, 2), 1);
  // 8 cores, auto (at most 4): 4, 4, 2, 2, 1 ...
  EXPECT_EQ(decoderThreadsFor(0, 0, 2, 8), 4);
  EXPECT_EQ(decoderThreadsFor(0, 0, 3, 8), 2);
  EXPECT_EQ(decoderThreadsFor(0, 0, 9, 8), 1);
  // An explicit budget replaces the cores.
  EXPECT_EQ(decoderThreadsFor(0, 6, 2, 2), 2);
  EXPECT_EQ(decoderThreadsFor(8, 12, 2, 2), 6);
}

TEST(DecoderThreadsTest, LeasesCountDecodingStreams) {
  auto budget = ThreadBudget::create(4);
  {
    ThreadBudget::Lease first = budget->lease(4);
    EXPECT_EQ(first.threads(), 4);
    ThreadBudget::Lease second = budget->lease(4);
    EXPECT_EQ(second.threads(), 2);
    EXPECT_EQ(budget->streams(), 2);
    ThreadBudget::Lease moved = std::move(second);
    EXPECT_EQ(budget->streams(), 2);
  }
  EXPECT_EQ(budget->streams(), 0);
  EXPECT_EQ(budget->lease(4).threads(), 4);
  EXPECT_EQ(budget->streams(), 0);
}

TEST(DecoderThreadsTest, ThreadsStartedAtLowerPriorityInheritItCallerKeepsItsOwn) {
  const int before = threadNice();
  int helper = 0, child = 0;
  runAtLowerPriority(DecoderPriority{5, false}, [&] {
    helper = threadNice();
    std::thread([&] { child = threadNice(); }).join();
  });
  EXPECT_EQ(helper, std::min(before + 5, 19));
  EXPECT_EQ(child, std::min(before + 5, 19));
  EXPECT_EQ(threadNice(), before);
}

TEST(DecoderThreadsTest, IdlePolicyIsInheritedByThreadsItStartsCallerKeepsItsOwn) {
  const int before = sched_getscheduler(0);
  ASSERT_NE(before, SCHED_IDLE) << "the test runner itself runs under SCHED_IDLE";
  int helper = -1, child = -1;
  runAtLowerPriority(DecoderPriority{kDecoderNiceIncrement, true}, [&] {
    helper = sched_getscheduler(0);
    std::thread([&] { child = sched_getscheduler(0); }).join();
  });
  EXPECT_EQ(helper, SCHED_IDLE);
  EXPECT_EQ(child, SCHED_IDLE);
  EXPECT_EQ(sched_getscheduler(0), before);
}

TEST(DecoderThreadsTest, SessionAndLibavcodecThreadsRunBelowTheCaller) {
  const int base = threadNice();
  const int lowered = std::min(base + kDecoderNiceIncrement, 19);
  if (lowered == base) GTEST_SKIP() << "already at the lowest priority";
  SessionOptions options;
  options.threads = 2;
  options.threadBudget = ThreadBudget::create(2);
  auto session = FfmpegSession::create(CodedFormat::kH264, options);
  ASSERT_TRUE(session) << session.error().message;
  // The session thread lowers itself when it starts, then opens the decoder (on the helper
  // thread, which starts the frame threads): poll until they exist (a generous deadline that
  // only a hung open reaches).
  std::vector<int> values;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    values = taskNiceValues();
    if (std::count(values.begin(), values.end(), lowered) >= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Two frame threads (libavcodec starts them in avcodec_open2) and the session thread.
  EXPECT_GE(std::count(values.begin(), values.end(), lowered), 3);
  EXPECT_EQ(threadNice(), base);
  EXPECT_EQ(options.threadBudget->streams(), 1);
  { std::unique_ptr<DecoderSession> stopped = std::move(*session); }  // joins its threads
  EXPECT_EQ(options.threadBudget->streams(), 0);
}

}  // namespace
}  // namespace vdec::codecs
