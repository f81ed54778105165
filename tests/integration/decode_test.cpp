// SPDX-License-Identifier: MIT
// End to end: the real vdec-device daemon, the real harness over vhost-user, real bitstreams.
#include <cstdint>
#include <filesystem>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/daemon_process.h"
#include "tests/test_paths.h"

namespace vdec::testing {
namespace {

struct DecodeCase {
  const char* memory;
  const char* chunkBytes;  // "0" = whole file in one buffer
  const char* outputFormat;
};

std::string caseName(const ::testing::TestParamInfo<DecodeCase>& info) {
  return std::string(info.param.memory) + "_chunk" + info.param.chunkBytes + "_" +
         info.param.outputFormat;
}

class ChromiumH264Test : public ::testing::TestWithParam<DecodeCase> {};

// h264/chromium-test-25fps: 250 frames whose md5s must equal the published ones.
TEST_P(ChromiumH264Test, PerFrameMd5sMatchThePublishedOnes) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  const auto& param = GetParam();
  const std::string input = conformanceFile("h264/chromium-test-25fps/test-25fps.h264");
  const auto expected = readJsonMd5s(input + ".json");
  ASSERT_EQ(expected.size(), 250u);
  DaemonProcess daemon;
  TempDir out;
  auto result = runHarness(daemon.socketPath(),
                           {"decode", input, "--memory", param.memory, "--chunk-bytes",
                            param.chunkBytes, "--output-format", param.outputFormat,
                            "--frames-md5", out.file("frames.md5")});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  EXPECT_EQ(readLines(out.file("frames.md5")), expected) << result.output;
  EXPECT_TRUE(daemon.running());
}

INSTANTIATE_TEST_SUITE_P(Memory, ChromiumH264Test,
                         ::testing::Values(DecodeCase{"contig", "0", "nv12"},
                                           DecodeCase{"contig", "1000", "nv12"},
                                           DecodeCase{"sg", "0", "nv12"},
                                           DecodeCase{"sg", "1000", "nv12"},
                                           DecodeCase{"sg", "997", "i420"},
                                           DecodeCase{"contig", "4096", "yv12"}),
                         caseName);

TEST(SampleClipTest, EmbeddedSampleDecodesBitExactWithPng) {
  const std::string input = samplesDir() + "/data/testsrc2-320x180.h264";
  DaemonProcess daemon;
  TempDir out;
  auto result = runHarness(daemon.socketPath(),
                           {"decode", input, "--memory", "sg", "--frames-md5",
                            out.file("frames.md5"), "--png", out.file("frame.png"),
                            "--raw-out", out.file("raw.yuv")});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  EXPECT_EQ(readLines(out.file("frames.md5")), readLines(input + ".md5"));
  EXPECT_GT(std::filesystem::file_size(out.file("frame.png")), 1000u);
  EXPECT_EQ(std::filesystem::file_size(out.file("raw.yuv")), 75u * 320 * 180 * 3 / 2);
  EXPECT_NE(result.output.find("75 frames"), std::string::npos) << result.output;
}

// The other ring notification scheme: every kick and every completion notified (the default,
// above, negotiates VIRTIO_RING_F_EVENT_IDX as Linux does). Same bits either way.
TEST(SampleClipTest, EmbeddedSampleDecodesBitExactWithoutEventIdx) {
  const std::string input = samplesDir() + "/data/testsrc2-320x180.h264";
  DaemonProcess daemon;
  for (const bool eventIdx : {false, true}) {
    const std::string flag = eventIdx ? "--log-level=warn" : "--no-event-idx";
    auto decoded = runHarness(daemon.socketPath(),
                              {flag, "decode", input, "--memory", "contig", "--expect-md5",
                               input + ".md5"});
    EXPECT_EQ(decoded.exitCode, 0) << flag << "\n" << decoded.output;
    // "features 0x..." of the query: bit 29 is VIRTIO_RING_F_EVENT_IDX.
    auto query = runHarness(daemon.socketPath(), {flag, "query"});
    ASSERT_EQ(query.exitCode, 0) << query.output;
    const size_t at = query.output.find("features 0x");
    ASSERT_NE(at, std::string::npos) << query.output;
    const uint64_t features = std::stoull(query.output.substr(at + 9), nullptr, 16);
    EXPECT_EQ((features >> 29) & 1, eventIdx ? 1u : 0u) << query.output;
  }
}

TEST(ConformanceTest, AllJvtAvcV1VectorsThroughTheDevice) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  DaemonProcess daemon;
  auto result = runHarness(daemon.socketPath(),
                           {"conformance", conformanceFile("manifest.tsv"), "--memory", "sg",
                            "--filter", "^(BA|CI|CV|LS|MI|MP|MR|NL|NR|SVA)"});
  EXPECT_EQ(result.exitCode, 0) << result.output;
  EXPECT_NE(result.output.find("29 passed, 0 failed"), std::string::npos) << result.output;
}

TEST(DaemonTest, HelpExplainsTheOptions) {
  auto result = runCommand({deviceBinary(), "--help"});
  EXPECT_EQ(result.exitCode, 0);
  for (const char* option : {"--socket-path", "--log-level", "--backend"}) {
    EXPECT_NE(result.output.find(option), std::string::npos) << option;
  }
}

// `--probe` tells what this host can do and, for what it cannot, why.
TEST(DaemonTest, ProbeExplainsWhatIsUnavailable) {
  auto result = runCommand({deviceBinary(), "--probe"});
  ASSERT_EQ(result.exitCode, 0) << result.output;
  EXPECT_NE(result.output.find("zero-copy paths:"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("guest pages, scatter-gather / software"), std::string::npos);
  if (!std::filesystem::exists("/dev/dri")) {
    EXPECT_NE(result.output.find("VA-API: unavailable: no DRM render node (/dev/dri does not exist)"),
              std::string::npos)
        << result.output;
  }
  if (!std::filesystem::exists("/dev/udmabuf")) {
    EXPECT_NE(result.output.find("udmabuf: unavailable: /dev/udmabuf does not exist"),
              std::string::npos)
        << result.output;
  }
}

}  // namespace
}  // namespace vdec::testing
