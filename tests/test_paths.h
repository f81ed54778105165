// SPDX-License-Identifier: MIT
// Where tests find the conformance data and the built binaries.
#pragma once

#include <string>

namespace vdec::testing {

std::string conformanceDir();  // ../shared/conformance, or $VDEC_CONFORMANCE_DIR
std::string conformanceFile(const std::string& relative);
// True when conformanceDir() holds the vectors (its manifest.tsv exists).
bool conformanceAvailable();
// One line for a skipped test: where the vectors were looked for and how to provide them.
std::string conformanceMissingReason();
// The vdec-device this build made, or $VDEC_DEVICE_BINARY when set.
std::string deviceBinary();
std::string harnessBinary();
std::string samplesDir();
std::string testDataDir();  // tests/data: small streams made by tests/data/make_streams.py

}  // namespace vdec::testing

// In a test body (or SetUp): skips the test with one line when the conformance vectors are not
// there. The suite then still passes on a fresh clone; the generated clips cover every codec.
#define VDEC_SKIP_WITHOUT_CONFORMANCE()                                      \
  do {                                                                       \
    if (!::vdec::testing::conformanceAvailable())                            \
      GTEST_SKIP() << ::vdec::testing::conformanceMissingReason();           \
  } while (0)
