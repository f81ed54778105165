// SPDX-License-Identifier: MIT
#include "codecs/vaapi_probe.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "buffers/frame_layout.h"
#include "buffers/udmabuf.h"
#include "vdec/base/logging.h"
#include "vdec/base/unique_fd.h"

#ifdef VDEC_HAVE_VAAPI
#include "buffers/va_display.h"
#include "buffers/va_import.h"
#include "codecs/vaapi_profiles.h"
#endif

namespace vdec::codecs {
namespace {

#ifdef VDEC_HAVE_VAAPI
constexpr uint32_t kProbeSize = 64;

// A sealed memfd (as QEMU's memory-backend-memfd) -> udmabuf -> NV12 VA surface.
ProbeItem probeImport(const std::shared_ptr<buffers::VaDisplay>& display) {
  auto layout = buffers::computeFrameLayout(buffers::PixelFormat::kNv12, kProbeSize, kProbeSize,
                                            {0, 0, kProbeSize, kProbeSize});
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t size = (layout->totalSize() + page - 1) / page * page;
  UniqueFd memfd(::memfd_create("vdec-probe", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!memfd.isValid() || ::ftruncate(memfd.get(), static_cast<off_t>(size)) != 0 ||
      ::fcntl(memfd.get(), F_ADD_SEALS, F_SEAL_SHRINK) != 0) {
    return {false, fmt::format("untested: cannot make a sealed memfd: {}", std::strerror(errno))};
  }
  const buffers::UdmabufRange range{memfd.get(), 0, size};
  auto dmaBuf = buffers::Udmabuf::create({&range, 1});
  if (!dmaBuf) return {false, fmt::format("untested: {}", dmaBuf.error().message)};
  const buffers::DmaBufInfo info{dmaBuf->get(), size, 0, buffers::kDrmModifierLinear};
  auto surface = buffers::importDmaBufSurface(display, info, *layout);
  if (!surface) return {false, surface.error().message};
  return {true, fmt::format("a linear NV12 {}x{} udmabuf imported as a VA surface", kProbeSize,
                            kProbeSize)};
}
#endif

}  // namespace

HardwareProbe probeHardware(const std::string& renderNode) {
  HardwareProbe probe;
  const std::string udmabufWhy = buffers::Udmabuf::unavailableReason();
  probe.udmabuf = udmabufWhy.empty() ? ProbeItem{true, buffers::Udmabuf::kDevicePath}
                                     : ProbeItem{false, udmabufWhy};
#ifdef VDEC_HAVE_VAAPI
  auto display = buffers::VaDisplay::open(renderNode);
  if (!display) {
    probe.vaapi = {false, display.error().message};
    probe.videoProcessing = {false, "VA-API unavailable"};
    probe.dmaBufImport = {false, "VA-API unavailable"};
    return probe;
  }
  const auto& va = *display;
  probe.vaapi = {true, fmt::format("{} on {} (kernel driver {}, VA-API {}.{})", va->vendor(),
                                   va->renderNodePath(), va->kernelDriver(), va->majorVersion(),
                                   va->minorVersion())};
  for (const buffers::VaDecodeProfile& profile : va->decodeProfiles()) {
    const std::vector<VaCodecProfile> mapped = codecProfilesForVa(profile.profile);
    probe.vaProfiles.push_back(fmt::format(
        "{}: {} (max {}x{})", vaProfileName(profile.profile),
        mapped.empty() ? std::string("not used (not 8-bit 4:2:0 or not a virtio codec)")
                       : std::string(codedFormatName(mapped.front().format)),
        profile.maxWidth, profile.maxHeight));
  }
  probe.videoProcessing = va->supportsVideoProcessing()
                              ? ProbeItem{true, "VAEntrypointVideoProc"}
                              : ProbeItem{false, "the driver has no VAEntrypointVideoProc"};
  probe.dmaBufImport = probeImport(va);
#else
  (void)renderNode;
  probe.vaapi = {false, "this build has no VA-API support (libva/libdrm not found at build time)"};
  probe.videoProcessing = {false, "VA-API unavailable"};
  probe.dmaBufImport = {false, "VA-API unavailable"};
#endif
  return probe;
}

std::vector<ZeroCopyRow> zeroCopyMatrix(const HardwareProbe& probe) {
  const std::string perResource = "decided per resource (strides, mapping, buffer count)";
  std::vector<ZeroCopyRow> rows;
  rows.push_back({"guest pages, one contiguous run", "software",
                  "decode into the guest mapping", true, perResource + "; else bounce"});
  rows.push_back({"guest pages, scatter-gather", "software",
                  "decode into a remapped contiguous window", true,
                  perResource + "; else bounce with a scatter copy"});
  rows.push_back({"virtio object (dma-buf)", "software",
                  "decode into the mmapped dma-buf (DMA_BUF_IOCTL_SYNC)", true,
                  perResource + "; else bounce"});

  const std::string vaBounce = "fallback: decode into a driver surface, vaDeriveImage/vaGetImage, "
                               "one CPU copy";
  ZeroCopyRow pages{"guest pages", "VA-API", "udmabuf, imported as a VA surface, decoded into"};
  ZeroCopyRow object{"virtio object (dma-buf)", "VA-API",
                     "dma-buf imported (DRM_PRIME_2), decoded into"};
  if (!probe.vaapi.available) {
    pages.why = object.why = "unavailable: VA-API: " + probe.vaapi.detail;
  } else {
    pages.available = probe.udmabuf.available && probe.dmaBufImport.available;
    pages.why = !probe.udmabuf.available
                    ? "unavailable: udmabuf: " + probe.udmabuf.detail + "; " + vaBounce
                : !probe.dmaBufImport.available
                    ? "unavailable: dma-buf import: " + probe.dmaBufImport.detail + "; " + vaBounce
                    : "needs memfd guest RAM and page-aligned buffers; " + vaBounce;
    // Without udmabuf the import could not be tried; objects are then decided per resource.
    object.available = probe.dmaBufImport.available || !probe.udmabuf.available;
    object.why = probe.dmaBufImport.available ? std::string("import works")
                 : !probe.udmabuf.available
                     ? "import untested here (no dma-buf to try: " + probe.udmabuf.detail +
                           "); tried per resource"
                     : "unavailable: dma-buf import: " + probe.dmaBufImport.detail;
    object.why += probe.videoProcessing.available ? "; fallback: VPP blit, then CPU copy"
                                                  : "; fallback: " + vaBounce + " (no VPP)";
  }
  rows.push_back(std::move(pages));
  rows.push_back(std::move(object));
  return rows;
}

}  // namespace vdec::codecs
