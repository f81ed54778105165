// SPDX-License-Identifier: MIT
// Issue 10 finding 4: a session thread that cannot start (the host is out of threads, or the
// guest used up the process's mappings) used to throw out of the device: with --threads 1 the
// daemon exited ("fatal: Resource temporarily unavailable"). It is an error now, which the
// stream turns into the protocol's error.
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "codecs/ffmpeg_engine.h"
#include "codecs/session_worker.h"

namespace vdec::codecs {
namespace {

// The process's address space in bytes (VmSize), 0 if unknown.
uint64_t addressSpaceBytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024;
  }
  return 0;
}

// Starts a session with the address space capped just above what the process uses: the new
// thread's stack cannot be mapped, as when the mappings are exhausted. The exit code says what
// happened (0: the start failed with kOutOfMemory, as it must).
int startWithCappedAddressSpace() {
  SessionOptions options;
  options.threads = 1;
  auto engine = FfmpegEngine::create(CodedFormat::kH264, options);
  if (!engine) return 2;
  const uint64_t used = addressSpaceBytes();
  if (used == 0) return 3;
  const rlimit limit{used + (1u << 20), RLIM_INFINITY};
  if (::setrlimit(RLIMIT_AS, &limit) != 0) return 4;
  auto session = startSessionWorker(CodedFormat::kH264, options, std::move(*engine));
  return !session && session.error().code == ErrorCode::kOutOfMemory ? 0 : 1;
}

// In a child process (the cap must not touch the test runner).
TEST(SessionWorkerStartTest, AThreadThatCannotStartIsAnError) {
  ::testing::GTEST_FLAG(death_test_style) = "threadsafe";
  EXPECT_EXIT(_exit(startWithCappedAddressSpace()), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace vdec::codecs
