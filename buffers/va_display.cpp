// SPDX-License-Identifier: MIT
#include "buffers/va_display.h"

#include <va/va_drm.h>
#include <va/va_str.h>

#include <algorithm>
#include <string_view>

#include "vdec/base/logging.h"

namespace vdec::buffers {
namespace {

// libva prints its messages on stdout/stderr by default; route them to our log, at debug:
// while probing, a driver that does not load is expected, not an error (mpv does the same).
void libvaMessage(void* /*context*/, const char* message) {
  std::string_view text(message != nullptr ? message : "");
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  logs::buffers().debug("libva: {}", text);
}

uint32_t configAttribute(VADisplay display, VAProfile profile, VAConfigAttribType type) {
  VAConfigAttrib attrib{type, 0};
  if (vaGetConfigAttributes(display, profile, VAEntrypointVLD, &attrib, 1) != VA_STATUS_SUCCESS ||
      attrib.value == VA_ATTRIB_NOT_SUPPORTED || attrib.value == 0) {
    return VaDisplay::kDefaultMaxSize;  // crosvm reports 1 here; the common limit is better
  }
  return attrib.value;
}

}  // namespace

std::string vaCallError(const char* call, VAStatus status) {
  return fmt::format("{} failed: {} ({})", call, vaErrorStr(status), status);
}

Result<std::shared_ptr<VaDisplay>> VaDisplay::open(const std::string& renderNode) {
  if (!renderNode.empty()) return openNode(renderNode);
  std::string whyNone;
  const std::vector<std::string> nodes = DrmRenderNode::list(&whyNone);
  if (nodes.empty()) {
    return makeError(ErrorCode::kUnsupported, "no DRM render node ({})", whyNone);
  }
  std::string failures;
  for (const std::string& node : nodes) {
    auto display = openNode(node);
    if (display) return display;
    logs::buffers().debug("va: {} unusable: {}", node, display.error().message);
    failures += fmt::format("{}{}", failures.empty() ? "" : "; ", display.error().message);
  }
  return makeError(ErrorCode::kUnsupported, "{}", failures);
}

Result<std::shared_ptr<VaDisplay>> VaDisplay::openNode(const std::string& path) {
  VDEC_ASSIGN_OR_RETURN(DrmRenderNode node, DrmRenderNode::open(path));
  VADisplay display = vaGetDisplayDRM(node.fd());
  if (display == nullptr) {
    return makeError(ErrorCode::kUnsupported, "{}: vaGetDisplayDRM() returned no display", path);
  }
  // From here the display is owned: the destructor calls vaTerminate() even if init fails,
  // which is what libva expects to release a display.
  std::shared_ptr<VaDisplay> owner(new VaDisplay(std::move(node), display));
  vaSetErrorCallback(display, libvaMessage, nullptr);
  vaSetInfoCallback(display, libvaMessage, nullptr);
  const VAStatus status = vaInitialize(display, &owner->major_, &owner->minor_);
  if (status != VA_STATUS_SUCCESS) {
    return makeError(ErrorCode::kUnsupported, "{}: {}", path, vaCallError("vaInitialize()", status));
  }
  const char* vendor = vaQueryVendorString(display);
  owner->vendor_ = vendor != nullptr ? vendor : "unknown";
  owner->queryCapabilities();
  logs::buffers().debug("va: {} initialized: VA-API {}.{}, {}, {} decode profiles", path,
                        owner->major_, owner->minor_, owner->vendor_, owner->profiles_.size());
  return owner;
}

VaDisplay::~VaDisplay() {
  if (display_ == nullptr) return;
  if (const VAStatus status = vaTerminate(display_); status != VA_STATUS_SUCCESS) {
    logs::buffers().warn("va: {}", vaCallError("vaTerminate()", status));
  }
}

void VaDisplay::queryCapabilities() {
  std::vector<VAProfile> profiles(static_cast<size_t>(std::max(vaMaxNumProfiles(display_), 0)));
  int numProfiles = 0;
  if (VAStatus s = vaQueryConfigProfiles(display_, profiles.data(), &numProfiles);
      s != VA_STATUS_SUCCESS) {
    logs::buffers().debug("va: {}", vaCallError("vaQueryConfigProfiles()", s));
    numProfiles = 0;
  }
  profiles.resize(static_cast<size_t>(std::clamp<int>(numProfiles, 0, profiles.size())));
  std::vector<VAEntrypoint> entrypoints(
      static_cast<size_t>(std::max(vaMaxNumEntrypoints(display_), 0)));
  for (VAProfile profile : profiles) {
    int numEntrypoints = 0;
    if (VAStatus s =
            vaQueryConfigEntrypoints(display_, profile, entrypoints.data(), &numEntrypoints);
        s != VA_STATUS_SUCCESS) {
      logs::buffers().debug("va: profile {}: {}", vaProfileStr(profile),
                            vaCallError("vaQueryConfigEntrypoints()", s));
      continue;
    }
    const auto end = entrypoints.begin() + std::clamp<int>(numEntrypoints, 0, entrypoints.size());
    if (profile == VAProfileNone) {
      videoProc_ = std::find(entrypoints.begin(), end, VAEntrypointVideoProc) != end;
    } else if (std::find(entrypoints.begin(), end, VAEntrypointVLD) != end) {
      profiles_.push_back({profile, configAttribute(display_, profile, VAConfigAttribMaxPictureWidth),
                           configAttribute(display_, profile, VAConfigAttribMaxPictureHeight)});
    }
  }
}

}  // namespace vdec::buffers
