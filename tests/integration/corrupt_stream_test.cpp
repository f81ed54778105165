// SPDX-License-Identifier: MIT
// A damaged bitstream through the real daemon: damaged pictures come back with the ERR flag, the
// rest of the stream decodes, and the next stream on the same daemon is bit-exact.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <regex>

#include <gtest/gtest.h>

#include "tests/integration/daemon_process.h"
#include "tests/test_paths.h"

namespace vdec::testing {
namespace {

uint64_t statValue(const std::string& output, const std::string& name) {
  std::smatch match;
  if (!std::regex_search(output, match, std::regex("\n" + name + " ([0-9]+)"))) return ~0ull;
  return std::stoull(match[1]);
}

TEST(CorruptStreamTest, DamagedPicturesAreFlaggedAndOtherStreamsUnharmed) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  const std::string clean = conformanceFile("h264/chromium-test-25fps/test-25fps.h264");
  std::ifstream in(clean, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 100000u);
  // Overwrite 1500 bytes of slice data at three places (I and P pictures).
  std::mt19937 random(7);
  for (size_t start : {40050u, 80050u, 120050u}) {
    for (size_t i = start; i < start + 1500; ++i) bytes[i] = static_cast<char>(random());
  }
  TempDir dir;
  {
    std::ofstream out(dir.file("damaged.h264"), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  DaemonProcess daemon;
  auto damaged = runHarness(daemon.socketPath(),
                            {"decode", dir.file("damaged.h264"), "--memory", "sg", "--stats"});
  ASSERT_EQ(damaged.exitCode, 0) << damaged.output;
  const uint64_t frames = statValue(damaged.output, "frames");
  const uint64_t errors = statValue(damaged.output, "error_frames");
  EXPECT_GT(errors, 0u) << damaged.output;
  EXPECT_GT(frames, 200u) << damaged.output;
  EXPECT_TRUE(daemon.running());

  auto next = runHarness(daemon.socketPath(), {"decode", clean, "--memory", "sg",
                                               "--frames-md5", dir.file("frames.md5")});
  ASSERT_EQ(next.exitCode, 0) << next.output;
  EXPECT_EQ(readLines(dir.file("frames.md5")), readJsonMd5s(clean + ".json"));
}

}  // namespace
}  // namespace vdec::testing
