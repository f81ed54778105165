// SPDX-License-Identifier: MIT
// The conformance manifest (../shared/conformance/manifest.tsv) through the real daemon: the
// whole manifest in one memory mode, subsets in the others, every output format on the four
// chromium-test-25fps clips.
#include <regex>

#include <gtest/gtest.h>

#include "tests/integration/daemon_process.h"
#include "tests/test_paths.h"

namespace vdec::testing {
namespace {

struct ConformanceCase {
  const char* name;
  const char* memory;
  const char* outputFormat;
  const char* filter;  // nullptr = whole manifest
  const char* outputBuffers = "4";  // 4 = v4l2-ctl (bounce for most streams); 24 = direct paths
};

std::string caseName(const ::testing::TestParamInfo<ConformanceCase>& info) {
  return info.param.name;
}

class ConformanceManifestTest : public ::testing::TestWithParam<ConformanceCase> {};

TEST_P(ConformanceManifestTest, AllSelectedVectorsPass) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  const auto& param = GetParam();
  DaemonProcess daemon;
  std::vector<std::string> args{"conformance", conformanceFile("manifest.tsv"), "--memory",
                                param.memory, "--output-format", param.outputFormat,
                                "--output-buffers", param.outputBuffers};
  if (param.filter != nullptr) {
    args.push_back("--filter");
    args.push_back(param.filter);
  }
  auto result = runHarness(daemon.socketPath(), args, 1200);
  EXPECT_EQ(result.exitCode, 0) << result.output;
  std::smatch match;
  std::regex summary("([0-9]+) passed, ([0-9]+) failed");
  ASSERT_TRUE(std::regex_search(result.output, match, summary)) << result.output;
  EXPECT_EQ(match[2], "0") << result.output;
  EXPECT_GE(std::stoi(match[1]), param.filter ? 4 : 149) << result.output;
  EXPECT_TRUE(daemon.running());
}

// A subset that covers every codec, resolution changes, odd sizes and odd crops.
constexpr const char* kSubset =
    "test-25fps|bear|BA1_Sony_D|CVFC1_Sony_C|MR2_TANDBERG_E|vp80-00-comprehensive-00[1-4]|"
    "vp80-03-segmentation-14(25|36)|vp90-2-02-size-(08x10|66x34)|vp90-2-03-size-226x196|"
    "vp91-2-04-yuv422|vp80-01-intra-1416";

INSTANTIATE_TEST_SUITE_P(
    Manifest, ConformanceManifestTest,
    ::testing::Values(ConformanceCase{"whole_manifest_sg_nv12", "sg", "nv12", nullptr},
                      ConformanceCase{"whole_manifest_object_i420_direct", "object", "i420",
                                      nullptr, "24"},
                      ConformanceCase{"whole_manifest_contig_nv12_direct", "contig", "nv12",
                                      nullptr, "24"},
                      ConformanceCase{"subset_contig_nv12", "contig", "nv12", kSubset},
                      ConformanceCase{"subset_object_nv12", "object", "nv12", kSubset},
                      ConformanceCase{"chromium_sg_i420", "sg", "i420", "test-25fps"},
                      ConformanceCase{"chromium_contig_yv12", "contig", "yv12", "test-25fps"},
                      ConformanceCase{"chromium_object_i420", "object", "i420", "test-25fps"}),
    caseName);

}  // namespace
}  // namespace vdec::testing
