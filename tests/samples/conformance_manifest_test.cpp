// SPDX-License-Identifier: MIT
// ConformanceManifest: manifest.tsv parsing and the per-frame md5 side files.
#include "samples/harness/conformance_manifest.h"

#include <gtest/gtest.h>

#include "tests/test_paths.h"

namespace vdec::harness {
namespace {

constexpr std::string_view kManifest =
    "codec\tsuite\tname\tfile\tpix_fmt\tcheck\texpected\tbitstream_md5\tsize\tnote\n"
    "vp8\tfluster:VP8\tvp80-00-comprehensive-001\tvp8/v/vp80-00-comprehensive-001.ivf\tyuv420p\t"
    "md5-whole-output\tfad126074e1bd5363d43b9d1cadddb71\t5db4\t15850\tok\n"
    "\n"
    "hevc\tcros\tbear.h265\thevc/cros-codecs/bear.h265\tnv12\tmd5-per-frame\t"
    "bear.h265.md5 (nv12)\tx\t1\tnote\r\n";

TEST(ConformanceManifest, ParsesColumnsByHeaderName) {
  auto manifest = ConformanceManifest::parse(kManifest, "/data/conf");
  ASSERT_TRUE(manifest) << manifest.error().message;
  ASSERT_EQ(manifest->vectors().size(), 2u);
  const ConformanceVector& vp8 = manifest->vectors()[0];
  EXPECT_EQ(vp8.codec, "vp8");
  EXPECT_EQ(vp8.name, "vp80-00-comprehensive-001");
  EXPECT_EQ(vp8.file, "/data/conf/vp8/v/vp80-00-comprehensive-001.ivf");
  EXPECT_EQ(vp8.pixFmt, "yuv420p");
  EXPECT_EQ(vp8.check, "md5-whole-output");
  EXPECT_EQ(vp8.expected, "fad126074e1bd5363d43b9d1cadddb71");
  const ConformanceVector& bear = manifest->vectors()[1];
  EXPECT_EQ(bear.pixFmt, "nv12");
  EXPECT_EQ(bear.expected, "bear.h265.md5 (nv12)");  // "\r" stripped
  EXPECT_EQ(sideFilePath(bear), "/data/conf/hevc/cros-codecs/bear.h265.md5");
}

TEST(ConformanceManifest, RejectsMissingColumnsAndShortLines) {
  EXPECT_FALSE(ConformanceManifest::parse("codec\tname\tfile\n", "."));
  EXPECT_FALSE(ConformanceManifest::parse(
      "codec\tsuite\tname\tfile\tpix_fmt\tcheck\texpected\nh264\ts\tn\n", "."));
  EXPECT_FALSE(ConformanceManifest::parse(
      "codec\tsuite\tname\tfile\tpix_fmt\tcheck\texpected\nh264\ts\tn\tf\tyuv420p\tcrc\tx\n", "."));
}

TEST(ConformanceManifest, FrameMd5sFromJson) {
  auto md5s = parseFrameMd5s(
      "{\n \"width\": 320,\n \"md5_checksums\": [\n  \"A5DAD6170EB13FC5CBC6FE3511D44053\",\n"
      "  \"e056362baaf13dd0f888e67a681ab381\"\n ],\n \"num_frames\": 2\n}",
      true);
  ASSERT_TRUE(md5s) << md5s.error().message;
  EXPECT_EQ(*md5s, (std::vector<std::string>{"a5dad6170eb13fc5cbc6fe3511d44053",
                                             "e056362baaf13dd0f888e67a681ab381"}));
  EXPECT_FALSE(parseFrameMd5s("{\"md5\": []}", true));
  EXPECT_FALSE(parseFrameMd5s("{\"md5_checksums\": [\"nothex\"]}", true));
}

TEST(ConformanceManifest, FrameMd5sFromTextFormats) {
  auto md5s = parseFrameMd5s(
      "e4519fce4b5a50a8ae38d2b42864e550\n"
      "83c78b5db579710f61f9354d5c51e8c8  vp80-00-comprehensive-001-176x144-0001.i420\n"
      "#format: frame checksums\n"
      "0,          0,          0,        1,    38016, 8d089d226f52d6cdaffdb3fcc080b75b\n"
      "\n",
      false);
  ASSERT_TRUE(md5s);
  EXPECT_EQ(*md5s, (std::vector<std::string>{"e4519fce4b5a50a8ae38d2b42864e550",
                                             "83c78b5db579710f61f9354d5c51e8c8",
                                             "8d089d226f52d6cdaffdb3fcc080b75b"}));
}

TEST(ConformanceManifest, RealManifestAndSideFiles) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  auto manifest = ConformanceManifest::load(testing::conformanceFile("manifest.tsv"));
  ASSERT_TRUE(manifest) << manifest.error().message;
  EXPECT_GT(manifest->vectors().size(), 100u);
  size_t perFrame = 0;
  for (const ConformanceVector& vector : manifest->vectors()) {
    if (vector.check != "md5-per-frame") continue;
    ++perFrame;
    auto md5s = loadFrameMd5s(sideFilePath(vector));
    ASSERT_TRUE(md5s) << vector.name << ": " << md5s.error().message;
    if (vector.name == "test-25fps.h264") {
      EXPECT_EQ(md5s->size(), 250u);
    }
  }
  EXPECT_GE(perFrame, 6u);
  auto libvpx = loadFrameMd5s(
      testing::conformanceFile("vp8/libvpx-vp8-test-vectors/vp80-00-comprehensive-001.ivf.md5"));
  ASSERT_TRUE(libvpx);
  EXPECT_EQ(libvpx->front(), "83c78b5db579710f61f9354d5c51e8c8");
}

}  // namespace
}  // namespace vdec::harness
