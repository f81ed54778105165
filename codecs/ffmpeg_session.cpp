// SPDX-License-Identifier: MIT
#include "codecs/ffmpeg_session.h"

#include "codecs/ffmpeg_engine.h"
#include "codecs/session_worker.h"

namespace vdec::codecs {

Result<std::unique_ptr<DecoderSession>> FfmpegSession::create(CodedFormat format,
                                                              const SessionOptions& options) {
  if (!Packetizer(format).valid()) {
    return makeError(ErrorCode::kBackendFailure, "libavcodec has no {} parser",
                     codedFormatName(format));
  }
  VDEC_ASSIGN_OR_RETURN(std::unique_ptr<FfmpegEngine> engine,
                        FfmpegEngine::create(format, options));
  return startSessionWorker(format, options, std::move(engine));
}

}  // namespace vdec::codecs
