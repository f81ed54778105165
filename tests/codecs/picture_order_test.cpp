// SPDX-License-Identifier: MIT
// Every picture, in order, flagged only when really damaged: field-coded H.264 (MBAFF, PAFF)
// and streams whose reordering exceeds libavcodec's low-delay start decode with frame threads
// exactly as single-threaded, every time, without ERR flags; really damaged pictures are flagged
// the same with and without frame threads. Streams: tests/data (tests/data/make_streams.py).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/codecs/session_driver.h"
#include "tests/codecs/stream_files.h"
#include "tests/test_paths.h"

extern "C" {
#include <libavutil/log.h>
}

namespace vdec::codecs::testing {
namespace {

// Decodes per run; fewer under sanitizers, which make each run ~10 times slower.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kRuns = 20;
#else
constexpr int kRuns = 200;
#endif

struct Outcome {
  std::vector<std::string> md5s;  // "" for pictures flagged damaged
  std::vector<bool> damaged;
  bool operator==(const Outcome&) const = default;
};

Outcome decodeStream(const std::vector<uint8_t>& bytes, int threads) {
  SessionDriver driver(CodedFormat::kH264, {.format = buffers::PixelFormat::kI420,
                                            .threads = threads});
  for (uint32_t id = 1; id <= 24; ++id) driver.queueTarget(id);
  driver.decodeAll(chunks(bytes, 4096), 1);
  driver.session().flush();
  EXPECT_TRUE(driver.waitFor([&] { return driver.flushes == 1; }));
  EXPECT_THAT(driver.errors, ::testing::IsEmpty());
  Outcome outcome;
  for (const DecodedPicture& picture : driver.pictures) {
    outcome.md5s.push_back(picture.md5);
    outcome.damaged.push_back(picture.error);
  }
  return outcome;
}

struct OrderCase {
  const char* file;
  size_t pictures;  // in the stream, counted by the script that made it
};

class PictureOrderTest : public ::testing::TestWithParam<OrderCase> {
 protected:
  void SetUp() override { av_log_set_level(AV_LOG_FATAL); }
};

std::string orderCaseName(const ::testing::TestParamInfo<OrderCase>& info) {
  std::string name = info.param.file;
  return name.substr(0, name.find('.'));
}

TEST_P(PictureOrderTest, FrameThreadsGiveEveryPictureExactlyAndUnflaggedEveryRun) {
  const std::vector<uint8_t> bytes =
      readFile(vdec::testing::testDataDir() + "/" + GetParam().file);
  ASSERT_FALSE(bytes.empty()) << GetParam().file;
  const Outcome reference = decodeStream(bytes, 1);
  ASSERT_EQ(reference.md5s.size(), GetParam().pictures);
  EXPECT_THAT(reference.damaged, ::testing::Each(false));
  int differing = 0;
  for (int run = 0; run < kRuns; ++run) {
    const Outcome threaded = decodeStream(bytes, 2);
    if (threaded == reference) continue;
    ++differing;
    EXPECT_EQ(threaded.md5s.size(), reference.md5s.size()) << "run " << run;
    EXPECT_THAT(threaded.damaged, ::testing::Each(false)) << "run " << run;
  }
  EXPECT_EQ(differing, 0) << "of " << kRuns << " frame-threaded runs";
}

INSTANTIATE_TEST_SUITE_P(Streams, PictureOrderTest,
                         ::testing::Values(OrderCase{"mbaff_tff_b.h264", 30},
                                           OrderCase{"mbaff_bff_b.h264", 30},
                                           OrderCase{"fake_interlaced_b.h264", 30},
                                           OrderCase{"paff_fields_p.h264", 12},
                                           OrderCase{"noreorder_vui_b.h264", 30},
                                           OrderCase{"reorder_grows.h264", 30}),
                         orderCaseName);

class DamageVerdictTest : public PictureOrderTest {};

// Really damaged pictures are flagged, and the same ones with and without frame threads.
TEST_P(DamageVerdictTest, SamePicturesFlaggedWithAndWithoutFrameThreads) {
  const std::vector<uint8_t> bytes =
      readFile(vdec::testing::testDataDir() + "/" + GetParam().file);
  ASSERT_FALSE(bytes.empty()) << GetParam().file;
  const Outcome reference = decodeStream(bytes, 1);
  ASSERT_EQ(reference.md5s.size(), GetParam().pictures);
  EXPECT_THAT(reference.damaged, ::testing::Contains(true));
  for (int run = 0; run < kRuns / 4; ++run) {
    const Outcome threaded = decodeStream(bytes, 2);
    ASSERT_EQ(threaded.damaged, reference.damaged) << "run " << run;
  }
}

INSTANTIATE_TEST_SUITE_P(Streams, DamageVerdictTest,
                         ::testing::Values(OrderCase{"damaged_mbaff_tff_b.h264", 30},
                                           OrderCase{"damaged_paff_fields_p.h264", 12}),
                         orderCaseName);

}  // namespace
}  // namespace vdec::codecs::testing
