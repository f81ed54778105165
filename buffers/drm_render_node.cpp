// SPDX-License-Identifier: MIT
#include "buffers/drm_render_node.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#ifdef VDEC_HAVE_LIBDRM
#include <xf86drm.h>
#endif

namespace vdec::buffers {
namespace {

constexpr std::string_view kRenderPrefix = "renderD";

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};

}  // namespace

Result<DrmRenderNode> DrmRenderNode::open(const std::string& path) {
  if (path.empty()) return makeError(ErrorCode::kInvalidParameter, "empty render node path");
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.isValid()) {
    return makeError(ErrorCode::kUnsupported, "cannot open render node {}: {}", path,
                     std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return makeError(ErrorCode::kBackendFailure, "fstat({}) failed: {}", path,
                     std::strerror(errno));
  }
  if (!S_ISCHR(st.st_mode)) {
    return makeError(ErrorCode::kUnsupported, "{} is not a character device", path);
  }
#ifdef VDEC_HAVE_LIBDRM
  if (drmGetNodeTypeFromFd(fd.get()) != DRM_NODE_RENDER) {
    return makeError(ErrorCode::kUnsupported, "{} is not a DRM render node", path);
  }
#endif
  return DrmRenderNode(std::move(fd), path);
}

std::vector<std::string> DrmRenderNode::list(std::string* whyNone) {
  std::vector<std::string> nodes;
  std::unique_ptr<DIR, DirCloser> dir(::opendir(kDriDirectory));
  if (!dir) {
    if (whyNone != nullptr) {
      *whyNone = errno == ENOENT ? fmt::format("{} does not exist", kDriDirectory)
                                 : fmt::format("cannot read {}: {}", kDriDirectory,
                                               std::strerror(errno));
    }
    return nodes;
  }
  while (const dirent* entry = ::readdir(dir.get())) {
    const std::string_view name(entry->d_name);
    if (name.substr(0, kRenderPrefix.size()) == kRenderPrefix) {
      nodes.push_back(fmt::format("{}/{}", kDriDirectory, name));
    }
  }
  // renderD128 before renderD129; names have equal length up to renderD999.
  std::sort(nodes.begin(), nodes.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  if (nodes.empty() && whyNone != nullptr) {
    *whyNone = fmt::format("{} has no {}*", kDriDirectory, kRenderPrefix);
  }
  return nodes;
}

std::string DrmRenderNode::kernelDriver() const {
#ifdef VDEC_HAVE_LIBDRM
  if (drmVersionPtr version = drmGetVersion(fd_.get())) {
    std::string name(version->name, static_cast<size_t>(std::max(version->name_len, 0)));
    drmFreeVersion(version);
    return name;
  }
#endif
  return "unknown";
}

}  // namespace vdec::buffers
