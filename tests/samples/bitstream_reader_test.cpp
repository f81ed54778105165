// SPDX-License-Identifier: MIT
// BitstreamReader: Annex-B chunking and container demuxing.
#include "samples/harness/bitstream_reader.h"

#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <gtest/gtest.h>

#include "tests/clips/clip_factory.h"
#include "tests/test_paths.h"

namespace vdec::harness {
namespace {

using codecs::CodedFormat;

std::vector<std::byte> readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

TEST(BitstreamReader, AnnexBChunksReassembleToTheFile) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  const std::string path = testing::conformanceFile("h264/chromium-test-25fps/test-25fps.h264");
  auto reader = BitstreamReader::open(path, {std::nullopt, 1000});
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_EQ(reader->codec(), CodedFormat::kH264);
  EXPECT_TRUE(reader->isByteStream());
  const std::vector<std::byte> file = readAll(path);
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(reader->units().size(), (file.size() + 999) / 1000);
  std::vector<std::byte> joined;
  std::set<uint64_t> timestamps;
  for (const BitstreamUnit& unit : reader->units()) {
    EXPECT_LE(unit.data.size(), 1000u);
    EXPECT_NE(unit.timestamp, 0u);
    EXPECT_EQ(unit.timestamp % 1000, 0u);
    timestamps.insert(unit.timestamp);
    joined.insert(joined.end(), unit.data.begin(), unit.data.end());
  }
  EXPECT_EQ(timestamps.size(), reader->units().size());
  EXPECT_EQ(joined, file);
  EXPECT_EQ(reader->totalBytes(), file.size());
}

TEST(BitstreamReader, SmallAnnexBFileIsOneUnitByDefault) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  const std::string path = testing::conformanceFile("hevc/chromium-test-25fps/test-25fps.h265");
  auto reader = BitstreamReader::open(path, {});
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_EQ(reader->codec(), CodedFormat::kHevc);
  ASSERT_EQ(reader->units().size(), 1u);
  EXPECT_EQ(reader->units()[0].data, readAll(path));
}

TEST(BitstreamReader, ChunkOfZeroIsWholeAndLastChunkIsShort) {
  std::vector<std::byte> bytes(2500, std::byte{7});
  EXPECT_EQ(BitstreamReader::chunk(bytes, 0).size(), 1u);
  auto units = BitstreamReader::chunk(bytes, 1000);
  ASSERT_EQ(units.size(), 3u);
  EXPECT_EQ(units[2].data.size(), 500u);
}

TEST(BitstreamReader, IvfGivesOneUnitPerFrame) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  auto reader =
      BitstreamReader::open(testing::conformanceFile("vp9/chromium-test-25fps/test-25fps.vp9"), {});
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_EQ(reader->codec(), CodedFormat::kVp9);
  EXPECT_FALSE(reader->isByteStream());
  EXPECT_EQ(reader->units().size(), 250u);
}

TEST(BitstreamReader, WebmAndCodecMismatch) {
  VDEC_SKIP_WITHOUT_CONFORMANCE();
  const std::string webm =
      testing::conformanceFile("vp9/libvpx-vp9-test-vectors/vp90-2-00-quantizer-00.webm");
  auto reader = BitstreamReader::open(webm, {});
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_EQ(reader->codec(), CodedFormat::kVp9);
  EXPECT_GT(reader->units().size(), 0u);
  EXPECT_FALSE(BitstreamReader::open(webm, {CodedFormat::kVp8, std::nullopt}));
}

// AV1 in IVF ('AV01'): one unit per IVF frame, each one temporal unit; the codec may be forced
// only to what the container says.
TEST(BitstreamReader, Av1IvfGivesOneTemporalUnitPerUnit) {
  if (!testing::ClipFactory::unavailableReason("av1").empty())
    GTEST_SKIP() << testing::ClipFactory::unavailableReason("av1");
  auto clip = testing::ClipFactory().generate(testing::standardClip("av1_aom_66x34"));
  ASSERT_TRUE(clip) << clip.error().message;
  auto reader = BitstreamReader::open(clip->path, {});
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_EQ(reader->codec(), CodedFormat::kAv1);
  EXPECT_FALSE(reader->isByteStream());
  EXPECT_EQ(reader->units().size(), clip->frameMd5s.size());
  // Every unit starts with a temporal delimiter OBU (type 2, with a size field, size 0).
  for (const BitstreamUnit& unit : reader->units()) {
    ASSERT_GE(unit.data.size(), 2u);
    EXPECT_EQ(unit.data[0], std::byte{0x12});
    EXPECT_EQ(unit.data[1], std::byte{0x00});
  }
  EXPECT_NE(reader->description().find("temporal unit"), std::string::npos);
  EXPECT_TRUE(BitstreamReader::open(clip->path, {CodedFormat::kAv1, std::nullopt}));
  EXPECT_FALSE(BitstreamReader::open(clip->path, {CodedFormat::kVp9, std::nullopt}));
  // No Annex-B fallback for AV1: a file libavformat cannot open is an error.
  EXPECT_FALSE(BitstreamReader::open(clip->path + ".missing", {CodedFormat::kAv1, std::nullopt}));

  // The same temporal units back to back, a raw low-overhead .obu file: libavformat's obu
  // demuxer gives them back one per unit.
  std::string dir = (std::filesystem::temp_directory_path() / "vdec-obu-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string obu = dir + "/clip.obu";
  {
    std::ofstream out(obu, std::ios::binary);
    for (const BitstreamUnit& unit : reader->units()) {
      out.write(reinterpret_cast<const char*>(unit.data.data()),
                static_cast<std::streamsize>(unit.data.size()));
    }
  }
  auto raw = BitstreamReader::open(obu, {CodedFormat::kAv1, std::nullopt});
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(raw) << raw.error().message;
  EXPECT_EQ(raw->codec(), CodedFormat::kAv1);
  ASSERT_EQ(raw->units().size(), reader->units().size());
  for (size_t i = 0; i < raw->units().size(); ++i) {
    EXPECT_EQ(raw->units()[i].data, reader->units()[i].data) << i;
  }
}

TEST(BitstreamReader, CodecFromExtension) {
  EXPECT_EQ(BitstreamReader::codecFromExtension("a/BA1_Sony_D.jsv"), CodedFormat::kH264);
  EXPECT_EQ(BitstreamReader::codecFromExtension("x.26l"), CodedFormat::kH264);
  EXPECT_EQ(BitstreamReader::codecFromExtension("x.H265"), CodedFormat::kHevc);
  EXPECT_EQ(BitstreamReader::codecFromExtension("x.bit"), CodedFormat::kHevc);
  EXPECT_EQ(BitstreamReader::codecFromExtension("x.ivf"), std::nullopt);
  EXPECT_EQ(BitstreamReader::codecFromExtension("dir.264/file"), std::nullopt);
}

}  // namespace
}  // namespace vdec::harness
