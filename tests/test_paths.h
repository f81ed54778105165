// SPDX-License-Identifier: MIT
// Where tests find the conformance data and the built binaries.
#pragma once

#include <string>

namespace vdec::testing {

std::string conformanceDir();  // ../shared/conformance, or $VDEC_CONFORMANCE_DIR
std::string conformanceFile(const std::string& relative);
std::string deviceBinary();
std::string harnessBinary();
std::string samplesDir();

}  // namespace vdec::testing
