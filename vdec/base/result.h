// SPDX-License-Identifier: MIT
// Result<T>: the one error type of vdec, and the propagation macros.
#pragma once

#include <string>
#include <utility>

#include <fmt/format.h>
#include <tl/expected.hpp>

namespace vdec {

// Mirrors the guest-visible virtio-video error responses, plus host-side failures.
enum class ErrorCode {
  kInvalidOperation,   // VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION
  kOutOfMemory,        // VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY
  kInvalidStreamId,    // VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID
  kInvalidResourceId,  // VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID
  kInvalidParameter,   // VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER
  kUnsupported,        // VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL
  kBackendFailure,     // a library or system call failed (answered as INVALID_OPERATION)
};

const char* errorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;  // for logs only; never sent to the guest
};

template <typename T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using tl::expected<T, Error>::expected;
  Result(tl::expected<T, Error> other)  // NOLINT(google-explicit-constructor): .map() results
      : tl::expected<T, Error>(std::move(other)) {}
};

using Status = Result<void>;

template <typename... Args>
tl::unexpected<Error> makeError(ErrorCode code, fmt::format_string<Args...> format,
                                Args&&... args) {
  return tl::unexpected<Error>(Error{code, fmt::format(format, std::forward<Args>(args)...)});
}

inline tl::unexpected<Error> makeError(Error error) {
  return tl::unexpected<Error>(std::move(error));
}

inline Status okStatus() { return {}; }

}  // namespace vdec

#define VDEC_CONCAT_INNER(a, b) a##b
#define VDEC_CONCAT(a, b) VDEC_CONCAT_INNER(a, b)

// Returns the error of `expr` (a Result) from the enclosing function.
#define VDEC_TRY(expr)                                         \
  do {                                                         \
    auto&& vdecTryResult = (expr);                             \
    if (!vdecTryResult) return ::vdec::makeError(std::move(vdecTryResult.error())); \
  } while (false)

#define VDEC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)                          \
  auto tmp = (expr);                                                        \
  if (!tmp) return ::vdec::makeError(std::move(tmp.error()));               \
  lhs = std::move(*tmp)  // NOLINT(bugprone-macro-parentheses)

// `VDEC_ASSIGN_OR_RETURN(auto x, f());` declares x from f()'s value or returns its error.
#define VDEC_ASSIGN_OR_RETURN(lhs, expr) \
  VDEC_ASSIGN_OR_RETURN_IMPL(VDEC_CONCAT(vdecResult, __LINE__), lhs, expr)

// Aborts on a bug of ours; never use it on guest-controlled values.
#define VDEC_CHECK(cond)                                                          \
  do {                                                                            \
    if (!(cond)) ::vdec::checkFailed(#cond, __FILE__, __LINE__);                   \
  } while (false)

namespace vdec {
[[noreturn]] void checkFailed(const char* condition, const char* file, int line);
}
