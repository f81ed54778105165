// SPDX-License-Identifier: MIT
// FfmpegBackend: software decoding with libavcodec (H.264, HEVC, VP8, VP9 to 8-bit 4:2:0).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codecs/decoder_backend.h"

namespace vdec::codecs {

// Stateless; safe to use from any thread. Advertises only what the sessions can output: profiles
// that decode to 8-bit 4:2:0 (no High 10/4:2:2/4:4:4, HEVC Main 10, VP9 profiles 1-3).
class FfmpegBackend final : public DecoderBackend {
 public:
  FfmpegBackend() = default;

  std::string name() const override { return "ffmpeg"; }
  // One entry per coded format whose libavcodec software decoder is present.
  std::vector<CodecCapability> capabilities() const override;
  // nv12, i420, yv12.
  std::vector<buffers::PixelFormat> outputFormats() const override;
  // Fails with kUnsupported when libavcodec lacks the decoder, kBackendFailure when it cannot
  // be opened.
  Result<std::unique_ptr<DecoderSession>> createSession(CodedFormat format,
                                                        const SessionOptions& options) override;
};

// The codec profile for a libavcodec profile of `format`, or nullopt when we cannot output it
// (not 8-bit 4:2:0).
std::optional<CodecProfile> codecProfile(CodedFormat format, int avProfile);

}  // namespace vdec::codecs
