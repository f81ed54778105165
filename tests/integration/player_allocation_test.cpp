// SPDX-License-Identifier: MIT
// What samples/scripts/demo.sh shows: a guest that allocates the capture buffers the device asks
// for once the format is known (--output-buffers 0, as players do) gets every frame decoded
// straight into its memory: 0 bounce frames.
#include <gtest/gtest.h>

#include "tests/integration/daemon_process.h"
#include "tests/test_paths.h"

namespace vdec::testing {
namespace {

struct PlayerCase {
  const char* outputFormat;
  const char* bytesCopiedPerFrame;  // I420: nothing; NV12 (nullptr): its interleaved chroma
};

class PlayerAllocationTest : public ::testing::TestWithParam<PlayerCase> {};

TEST_P(PlayerAllocationTest, EveryFrameIsDirectAndBitExact) {
  const std::string input = samplesDir() + "/data/testsrc2-320x180.h264";
  DaemonProcess daemon;
  auto result = runHarness(daemon.socketPath(),
                           {"decode", input, "--memory", "sg", "--output-format",
                            GetParam().outputFormat, "--output-buffers", "0", "--stats",
                            "--expect-md5", input + ".md5"});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  EXPECT_NE(result.output.find("\ndirect_frames 75\n"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("\nbounce_frames 0\n"), std::string::npos) << result.output;
  if (GetParam().bytesCopiedPerFrame != nullptr) {
    EXPECT_NE(result.output.find(std::string("\nbytes_copied_per_frame ") +
                                 GetParam().bytesCopiedPerFrame + "\n"),
              std::string::npos)
        << result.output;
  }
  EXPECT_NE(result.output.find("zero-copy: 75 of 75 frames decoded straight into guest memory"),
            std::string::npos)
      << result.output;
}

INSTANTIATE_TEST_SUITE_P(Formats, PlayerAllocationTest,
                         ::testing::Values(PlayerCase{"i420", "0"}, PlayerCase{"nv12", nullptr}),
                         [](const auto& info) { return std::string(info.param.outputFormat); });

}  // namespace
}  // namespace vdec::testing
