// SPDX-License-Identifier: MIT
// StreamStatistics: what one stream (virtio-video) or session (virtio-media) decoded, and the
// private statistics controls (VDEC_CONTROL_STATS_*) that read it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "codecs/decoder_session.h"
#include "vdec/protocol/virtio_video.h"

namespace vdec {

struct StreamStatistics {
  uint64_t frames = 0;  // pictures returned, error ones included (not the EOS marker)
  uint64_t errorFrames = 0;
  uint64_t bytesCopied = 0;
  uint64_t directFrames = 0;  // written by the decoder into the guest's buffer
  uint64_t bounceFrames = 0;  // decoded elsewhere, then copied

  // Counts one returned picture (not an EOS marker).
  void count(const codecs::PictureReady& picture) {
    ++frames;
    if (picture.error) ++errorFrames;
    bytesCopied += picture.bytesCopied;
    if (picture.path == codecs::OutputPath::kDirect) {
      ++directFrames;
    } else {
      ++bounceFrames;
    }
  }

  // The value of statistics control `control` (a VDEC_CONTROL_STATS_* id), saturated at `max`;
  // nullopt for any other id. BYTES_COPIED_PER_FRAME is the mean, rounded down (0 before the
  // first frame).
  std::optional<uint64_t> control(uint32_t control, uint64_t max) const {
    namespace w = wire;
    auto saturate = [max](uint64_t v) { return std::min(v, max); };
    switch (control) {
      case w::VDEC_CONTROL_STATS_FRAMES: return saturate(frames);
      case w::VDEC_CONTROL_STATS_BYTES_COPIED_PER_FRAME:
        return saturate(frames ? bytesCopied / frames : 0);
      case w::VDEC_CONTROL_STATS_DIRECT_FRAMES: return saturate(directFrames);
      case w::VDEC_CONTROL_STATS_BOUNCE_FRAMES: return saturate(bounceFrames);
      case w::VDEC_CONTROL_STATS_ERROR_FRAMES: return saturate(errorFrames);
      default: return std::nullopt;
    }
  }
};

}  // namespace vdec
