// SPDX-License-Identifier: MIT
#include "vdec/base/result.h"

#include <cstdio>
#include <cstdlib>

namespace vdec {

const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidOperation: return "invalid operation";
    case ErrorCode::kOutOfMemory: return "out of memory";
    case ErrorCode::kInvalidStreamId: return "invalid stream id";
    case ErrorCode::kInvalidResourceId: return "invalid resource id";
    case ErrorCode::kInvalidParameter: return "invalid parameter";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kBackendFailure: return "backend failure";
  }
  return "unknown";
}

void checkFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "vdec: check failed: %s at %s:%d\n", condition, file, line);
  std::abort();
}

}  // namespace vdec
