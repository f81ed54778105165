// SPDX-License-Identifier: MIT
// FfmpegSession: a libavcodec software decoding session: the one decode pipeline
// (SessionWorker) driving an FfmpegEngine.
#pragma once

#include <memory>

#include "codecs/coded_format.h"
#include "codecs/decoder_backend.h"
#include "codecs/decoder_session.h"
#include "vdec/base/result.h"

namespace vdec::codecs {

class FfmpegSession {
 public:
  // Opens the decoder for `format` and starts the session's thread.
  static Result<std::unique_ptr<DecoderSession>> create(CodedFormat format,
                                                        const SessionOptions& options);
};

}  // namespace vdec::codecs
