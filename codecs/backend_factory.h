// SPDX-License-Identifier: MIT
// makeBackend: the decoder backend the daemon runs with (--backend auto|ffmpeg|vaapi).
#pragma once

#include <memory>
#include <string>

#include "codecs/decoder_backend.h"
#include "vdec/base/result.h"

namespace vdec::codecs {

// Per stream: VA-API when its driver decodes the stream's coded format, software otherwise.
// A VA session that cannot be created (the driver refuses, libavcodec lacks the hwaccel) falls
// back to a software session; a stream whose profile VA-API turns out not to decode falls back
// to software inside the VA session (VaapiSession). Capabilities are the union of both.
// Thread-safe if both backends are.
class AutoBackend final : public DecoderBackend {
 public:
  AutoBackend(std::shared_ptr<DecoderBackend> hardware, std::shared_ptr<DecoderBackend> software);

  // "auto (vaapi, ffmpeg)".
  std::string name() const override;
  std::vector<CodecCapability> capabilities() const override;
  // The software backend's formats (the VA backend writes the same ones).
  std::vector<buffers::PixelFormat> outputFormats() const override;
  Result<std::unique_ptr<DecoderSession>> createSession(CodedFormat format,
                                                        const SessionOptions& options) override;

 private:
  bool hardwareDecodes(CodedFormat format) const;

  std::shared_ptr<DecoderBackend> hardware_;
  std::shared_ptr<DecoderBackend> software_;
};

struct BackendSelection {
  std::shared_ptr<DecoderBackend> backend;
  std::string note;  // why this backend, e.g. "VA-API unavailable: ...; software decoding"
};

// name: "auto" (VA-API and software per stream when a VA driver initializes and decodes one of
// our codecs, software alone otherwise, with the reason in `note`), "ffmpeg", or "vaapi"
// (fails with kUnsupported and the reason when VA-API is unavailable; the daemon then exits).
// renderNode: "" = the first render node that works.
Result<BackendSelection> makeBackend(const std::string& name, const std::string& renderNode);

// Merges capability lists: per coded format the union of profiles and levels and the widest
// size range.
std::vector<CodecCapability> mergeCapabilities(const std::vector<CodecCapability>& a,
                                               const std::vector<CodecCapability>& b);

}  // namespace vdec::codecs
