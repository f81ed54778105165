// SPDX-License-Identifier: MIT
// The whole conformance manifest (../shared/conformance/manifest.tsv) through the harness as
// virtio-media guest against `vdec-device --protocol media`: once with USERPTR buffers in
// scattered shared pages, once with DMABUF buffers as virtio objects.
#include <regex>

#include <gtest/gtest.h>

#include "tests/integration/daemon_process.h"
#include "tests/test_paths.h"

namespace vdec::testing {
namespace {

struct MediaConformanceCase {
  const char* name;
  const char* memory;
  const char* outputFormat;
  const char* outputBuffers;
};

std::string caseName(const ::testing::TestParamInfo<MediaConformanceCase>& info) {
  return info.param.name;
}

class MediaConformanceTest : public ::testing::TestWithParam<MediaConformanceCase> {};

TEST_P(MediaConformanceTest, WholeManifestPasses) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  const auto& param = GetParam();
  DaemonProcess daemon({"--protocol", "media"});
  auto result = runHarness(daemon.socketPath(),
                           {"--protocol", "media", "conformance", conformanceFile("manifest.tsv"),
                            "--memory", param.memory, "--output-format", param.outputFormat,
                            "--output-buffers", param.outputBuffers},
                           1200);
  EXPECT_EQ(result.exitCode, 0) << result.output;
  std::smatch match;
  std::regex summary("([0-9]+) passed, ([0-9]+) failed");
  ASSERT_TRUE(std::regex_search(result.output, match, summary)) << result.output;
  EXPECT_EQ(match[2], "0") << result.output;
  EXPECT_GE(std::stoi(match[1]), 149) << result.output;
  EXPECT_TRUE(daemon.running());
}

INSTANTIATE_TEST_SUITE_P(
    Manifest, MediaConformanceTest,
    ::testing::Values(MediaConformanceCase{"whole_manifest_userptr_sg_nv12", "sg", "nv12", "4"},
                      MediaConformanceCase{"whole_manifest_dmabuf_object_i420", "object", "i420",
                                           "24"}),
    caseName);

}  // namespace
}  // namespace vdec::testing
