// SPDX-License-Identifier: MIT
#include "tests/fakes/fake_decoder_backend.h"

namespace vdec::testing {

std::vector<codecs::CodecCapability> FakeDecoderBackend::capabilities() const {
  using P = codecs::CodecProfile;
  using L = codecs::CodecLevel;
  return {{codecs::CodedFormat::kH264, {P::kH264Baseline, P::kH264Main, P::kH264High},
           {L::kH264_1_0, L::kH264_5_1}},
          {codecs::CodedFormat::kVp9, {P::kVp9Profile0}, {}}};
}

std::vector<buffers::PixelFormat> FakeDecoderBackend::outputFormats() const {
  return {buffers::PixelFormat::kNv12, buffers::PixelFormat::kI420, buffers::PixelFormat::kYv12};
}

Result<std::unique_ptr<codecs::DecoderSession>> FakeDecoderBackend::createSession(
    codecs::CodedFormat format, const codecs::SessionOptions& options) {
  if (failCreate) return makeError(ErrorCode::kBackendFailure, "fake refuses");
  auto session = std::make_unique<FakeDecoderSession>(options.notify);
  lastSession = session.get();
  ++sessionsCreated;
  return std::unique_ptr<codecs::DecoderSession>(std::move(session));
}

}  // namespace vdec::testing
