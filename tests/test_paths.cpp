// SPDX-License-Identifier: MIT
#include "tests/test_paths.h"

#include <cstdlib>
#include <filesystem>

namespace vdec::testing {

std::string conformanceDir() {
  if (const char* env = std::getenv("VDEC_CONFORMANCE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return VDEC_CONFORMANCE_DIR;
}
std::string conformanceFile(const std::string& relative) {
  return conformanceDir() + "/" + relative;
}
bool conformanceAvailable() {
  std::error_code ignored;
  return std::filesystem::is_regular_file(conformanceFile("manifest.tsv"), ignored);
}
std::string conformanceMissingReason() {
  return "conformance vectors not found in " + conformanceDir() +
         " (set VDEC_CONFORMANCE_DIR, or put shared/conformance beside the checkout); the "
         "generated clips still run";
}
std::string deviceBinary() {
  // Another build's daemon, to run the same tests against it (before/after comparisons).
  if (const char* env = std::getenv("VDEC_DEVICE_BINARY"); env != nullptr && *env != '\0') {
    return env;
  }
  return VDEC_DEVICE_BINARY;
}
std::string harnessBinary() { return VDEC_HARNESS_BINARY; }
std::string samplesDir() { return VDEC_SAMPLES_DIR; }
std::string testDataDir() { return VDEC_TEST_DATA_DIR; }

}  // namespace vdec::testing
