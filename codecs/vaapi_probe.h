// SPDX-License-Identifier: MIT
// probeHardware: what this host offers for hardware decoding and zero-copy (for --probe).
#pragma once

#include <string>
#include <vector>

namespace vdec::codecs {

struct ProbeItem {
  bool available = false;
  std::string detail;  // what was found, or why it is unavailable
};

struct HardwareProbe {
  ProbeItem vaapi;                      // driver and render node, or why not
  std::vector<std::string> vaProfiles;  // "VAProfileH264High: h264 (max 4096x4096)"
  ProbeItem videoProcessing;            // VPP, for blits
  ProbeItem udmabuf;
  ProbeItem dmaBufImport;  // a udmabuf imported as an NV12 VA surface (DRM_PRIME_2)
};

// Opens VA-API on `renderNode` ("" = first usable), tries /dev/udmabuf and, when both work, one
// dma-buf import. Failures are expected on hosts without a GPU and logged at debug only.
HardwareProbe probeHardware(const std::string& renderNode);

// One row of the zero-copy matrix (docs/architecture.md) for this host.
struct ZeroCopyRow {
  std::string resource;   // "guest pages", "virtio object"
  std::string decoder;    // "software", "VA-API"
  std::string preferred;  // the zero-copy path
  bool available = false;
  std::string why;        // what it takes / what is missing; fallback
};

std::vector<ZeroCopyRow> zeroCopyMatrix(const HardwareProbe& probe);

}  // namespace vdec::codecs
