// SPDX-License-Identifier: MIT
#include "codecs/vaapi_session.h"

#include "codecs/session_worker.h"
#include "codecs/vaapi_engine.h"

namespace vdec::codecs {

Result<std::unique_ptr<DecoderSession>> VaapiSession::create(
    std::shared_ptr<buffers::VaDisplay> display, AVBufferRef* device, CodedFormat format,
    const SessionOptions& options) {
  if (!Packetizer(format).valid()) {
    return makeError(ErrorCode::kBackendFailure, "libavcodec has no {} parser",
                     codedFormatName(format));
  }
  VDEC_ASSIGN_OR_RETURN(std::unique_ptr<VaapiEngine> engine,
                        VaapiEngine::create(std::move(display), device, format, options));
  return startSessionWorker(format, options, std::move(engine));
}

}  // namespace vdec::codecs
