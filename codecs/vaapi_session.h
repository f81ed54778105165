// SPDX-License-Identifier: MIT
// VaapiSession: a stream decoded by libavcodec's VAAPI hwaccel: the one decode pipeline
// (SessionWorker) driving a VaapiEngine.
#pragma once

#include <memory>

#include "buffers/va_display.h"
#include "codecs/coded_format.h"
#include "codecs/decoder_backend.h"
#include "codecs/decoder_session.h"
#include "vdec/base/result.h"

extern "C" {
#include <libavutil/buffer.h>
}

namespace vdec::codecs {

class VaapiSession {
 public:
  // `device` is an AVHWDeviceContext (VAAPI) wrapping `display`: surfaces imported on the
  // display and those FFmpeg allocates belong to one VADisplay. Takes a new reference.
  static Result<std::unique_ptr<DecoderSession>> create(std::shared_ptr<buffers::VaDisplay> display,
                                                        AVBufferRef* device, CodedFormat format,
                                                        const SessionOptions& options);
};

}  // namespace vdec::codecs
