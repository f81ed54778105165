// SPDX-License-Identifier: MIT
// VaapiBackend: hardware decoding through libavcodec's VAAPI hwaccel on one VA display.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "buffers/va_display.h"
#include "codecs/decoder_backend.h"

struct AVBufferRef;

namespace vdec::codecs {

// One VA display (and one FFmpeg VAAPI device wrapping it) shared by all sessions, so that
// surfaces imported from guest dma-bufs and FFmpeg's decode surfaces live on the same display.
// Thread-safe: capabilities are fixed at creation; createSession may run on any thread.
class VaapiBackend final : public DecoderBackend {
 public:
  // Opens `renderNode` ("" = the first render node whose driver initializes) and reads the
  // driver's decode profiles. Fails with kUnsupported, and a message saying why, when there is
  // no render node, vaInitialize() fails, FFmpeg cannot use the display, or the driver decodes
  // none of the profiles we output (8-bit 4:2:0 H.264, HEVC, VP8, VP9).
  static Result<std::shared_ptr<VaapiBackend>> create(const std::string& renderNode);
  ~VaapiBackend() override;

  std::string name() const override { return "vaapi"; }
  std::vector<CodecCapability> capabilities() const override { return capabilities_; }
  // nv12 (decoded into directly), i420 and yv12 (VPP blit or CPU copy).
  std::vector<buffers::PixelFormat> outputFormats() const override;
  // kUnsupported when the driver cannot decode `format`.
  Result<std::unique_ptr<DecoderSession>> createSession(CodedFormat format,
                                                        const SessionOptions& options) override;

  bool supports(CodedFormat format) const;
  const buffers::VaDisplay& display() const { return *display_; }

 private:
  VaapiBackend() = default;

  std::shared_ptr<buffers::VaDisplay> display_;
  AVBufferRef* device_ = nullptr;  // AVHWDeviceContext (VAAPI), owned
  std::vector<CodecCapability> capabilities_;
};

}  // namespace vdec::codecs
