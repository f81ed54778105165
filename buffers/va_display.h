// SPDX-License-Identifier: MIT
// VaDisplay: an initialized VA-API display on a DRM render node.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <va/va.h>

#include "buffers/drm_render_node.h"
#include "vdec/base/result.h"

namespace vdec::buffers {

// A decode profile the driver offers with the VLD entrypoint.
struct VaDecodeProfile {
  VAProfile profile = VAProfileNone;
  uint32_t maxWidth = 0;   // VAConfigAttribMaxPictureWidth, or kDefaultMaxSize when not reported
  uint32_t maxHeight = 0;
};

// Owns the render node and the VADisplay on it (vaTerminate() on destruction). Shared: every
// VaSurface, VaImage and FFmpeg hw device made from it holds a std::shared_ptr, so the display
// outlives them all. libva serializes calls per display; safe to use from several threads.
class VaDisplay {
 public:
  // Used when the driver does not report a maximum picture size.
  static constexpr uint32_t kDefaultMaxSize = 4096;

  // Opens `renderNode`, or with "" the first render node whose driver initializes. Failures
  // while trying nodes are logged at debug (expected on hosts without a usable GPU); the error
  // names every node tried and why it failed, or says that there is none.
  static Result<std::shared_ptr<VaDisplay>> open(const std::string& renderNode = "");
  ~VaDisplay();

  VaDisplay(const VaDisplay&) = delete;
  VaDisplay& operator=(const VaDisplay&) = delete;

  [[nodiscard]] VADisplay get() const { return display_; }
  [[nodiscard]] const std::string& renderNodePath() const { return node_.path(); }
  [[nodiscard]] std::string kernelDriver() const { return node_.kernelDriver(); }
  // vaQueryVendorString(), e.g. "Intel iHD driver for Intel(R) Gen Graphics - 23.1.1".
  [[nodiscard]] const std::string& vendor() const { return vendor_; }
  [[nodiscard]] int majorVersion() const { return major_; }
  [[nodiscard]] int minorVersion() const { return minor_; }

  // Profiles with a VLD (decode) entrypoint, in the driver's order. Queried once at open().
  [[nodiscard]] const std::vector<VaDecodeProfile>& decodeProfiles() const { return profiles_; }
  // Whether VAProfileNone offers VAEntrypointVideoProc (the VPP used for blits).
  [[nodiscard]] bool supportsVideoProcessing() const { return videoProc_; }

 private:
  VaDisplay(DrmRenderNode node, VADisplay display) : node_(std::move(node)), display_(display) {}
  static Result<std::shared_ptr<VaDisplay>> openNode(const std::string& path);
  void queryCapabilities();

  DrmRenderNode node_;
  VADisplay display_ = nullptr;
  std::string vendor_;
  int major_ = 0;
  int minor_ = 0;
  std::vector<VaDecodeProfile> profiles_;
  bool videoProc_ = false;
};

// "vaCreateSurfaces() failed: resource allocation failed (3)": the VA call and vaErrorStr().
std::string vaCallError(const char* call, VAStatus status);

}  // namespace vdec::buffers
