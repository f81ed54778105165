// SPDX-License-Identifier: MIT
// DrmRenderNode: an open DRM render node (/dev/dri/renderD*), the device VA-API decodes on.
#pragma once

#include <string>
#include <vector>

#include "vdec/base/result.h"
#include "vdec/base/unique_fd.h"

namespace vdec::buffers {

// Move-only owner of a render node fd. Render nodes need no DRM master and no authentication,
// so any process with access to the node may decode on it. Thread-safe (immutable once open).
class DrmRenderNode {
 public:
  // The directory render nodes live in.
  static constexpr const char* kDriDirectory = "/dev/dri";

  // Opens `path` read-write (CLOEXEC) and checks that it is a DRM render node (with libdrm;
  // without it, that it is a character device). Errors name the path and the failed call.
  static Result<DrmRenderNode> open(const std::string& path);

  // The render nodes of this host, sorted (renderD128 first). Empty when there are none; then
  // `whyNone` (if given) says why, e.g. "/dev/dri does not exist".
  static std::vector<std::string> list(std::string* whyNone = nullptr);

  DrmRenderNode(DrmRenderNode&&) noexcept = default;
  DrmRenderNode& operator=(DrmRenderNode&&) noexcept = default;

  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] const std::string& path() const { return path_; }
  // Kernel driver name ("i915", "amdgpu"), or "unknown" when libdrm cannot tell.
  [[nodiscard]] std::string kernelDriver() const;

 private:
  DrmRenderNode(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  UniqueFd fd_;
  std::string path_;
};

}  // namespace vdec::buffers
