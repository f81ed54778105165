// SPDX-License-Identifier: MIT
#include "tests/test_paths.h"

#include <cstdlib>

namespace vdec::testing {

std::string conformanceDir() {
  if (const char* env = std::getenv("VDEC_CONFORMANCE_DIR")) return env;
  return VDEC_CONFORMANCE_DIR;
}
std::string conformanceFile(const std::string& relative) {
  return conformanceDir() + "/" + relative;
}
std::string deviceBinary() { return VDEC_DEVICE_BINARY; }
std::string harnessBinary() { return VDEC_HARNESS_BINARY; }
std::string samplesDir() { return VDEC_SAMPLES_DIR; }

}  // namespace vdec::testing
