// SPDX-License-Identifier: MIT
// VA-API profiles <-> codec profiles, and the capabilities a VA driver gives a backend.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <va/va.h>

#include "buffers/va_display.h"
#include "codecs/decoder_backend.h"

namespace vdec::codecs {

struct VaCodecProfile {
  CodedFormat format;
  CodecProfile profile;
};

// The codec profiles a VA decode profile covers with 8-bit 4:2:0 output (H.264
// ConstrainedBaseline/Main/High, HEVC Main, VP8 versions 0-3, VP9 profile 0); empty for the
// others (10-bit, 4:2:2/4:4:4, other codecs). ConstrainedBaseline counts as Baseline, as in the
// FFmpeg backend (crosvm drops it, and drivers no longer offer plain Baseline).
std::vector<VaCodecProfile> codecProfilesForVa(VAProfile profile);

// One capability per coded format that some profile decodes; the size limit is the largest the
// driver reports for that format.
std::vector<CodecCapability> vaCapabilities(const std::vector<buffers::VaDecodeProfile>& profiles);

// "VAProfileH264High" (vaProfileStr without allocation concerns).
std::string vaProfileName(VAProfile profile);

}  // namespace vdec::codecs
