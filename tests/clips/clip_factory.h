// SPDX-License-Identifier: MIT
// ClipFactory: test bitstreams made at test time with the host's `ffmpeg` tool (libx264,
// libx265, libvpx; AV1: libaom-av1, libsvtav1), with per-frame reference md5s from host ffmpeg
// decoding the same clip (AV1 with libdav1d).
// The suite thereby needs no conformance data beside the checkout.
#pragma once

#include <string>
#include <vector>

#include "vdec/base/result.h"

namespace vdec::testing {

// One encoded piece of a clip: testsrc2 frames of one size through one encoder.
struct ClipSegment {
  unsigned width = 0;
  unsigned height = 0;
  unsigned frames = 0;
  std::vector<std::string> encoderArgs;  // e.g. {"-c:v", "libx264", "-bf", "3"}
};

// A clip: one segment, or (Annex-B codecs, AV1) several joined, which makes a mid-stream
// resolution change when their sizes differ: Annex-B byte for byte, AV1 as the IVF frames of
// every segment in one IVF file.
struct ClipSpec {
  std::string name;   // [a-z0-9_]: file stem in the cache and the test's name
  std::string codec;  // h264 | hevc | vp8 | vp9 | av1
  std::vector<ClipSegment> segments;
  std::string note;   // what the clip covers, for failure messages
};

struct GeneratedClip {
  std::string path;                    // .h264 / .h265 (Annex-B) or .ivf (VP8, VP9, AV1)
  std::vector<std::string> frameMd5s;  // per displayed frame, yuv420p of the visible area
};

// Contract: generate() returns the clip and its reference, making them on first use and reusing
// them afterwards from the cache folder (keyed by the exact ffmpeg commands, so a changed spec
// makes a new file). Safe for concurrent test processes: files are written under a temporary
// name and renamed into place. Errors say which command failed and its output.
class ClipFactory {
 public:
  // cacheDir: $VDEC_CLIP_CACHE_DIR, else the build tree's test-clips/ folder.
  ClipFactory();
  explicit ClipFactory(std::string cacheDir);

  Result<GeneratedClip> generate(const ClipSpec& spec) const;

  // Empty when the host can make every clip; else one line saying what is missing (no ffmpeg,
  // or an encoder missing from `ffmpeg -encoders`). Checked once per process.
  static const std::string& unavailableReason();
  // The same for clips of `codec`: AV1 clips also need libaom-av1, libsvtav1 and libdav1d.
  static std::string unavailableReason(const std::string& codec);

  // The ffmpeg command lines (argv) that make one segment and decode a file into framemd5.
  static std::vector<std::string> encodeCommand(const std::string& codec,
                                                const ClipSegment& segment,
                                                const std::string& output);
  static std::vector<std::string> referenceCommand(const std::string& codec,
                                                   const std::string& input,
                                                   const std::string& output);

 private:
  std::string cacheDir_;
};

// The clips of the generated-clip suite: every codec, odd and tiny sizes, crops that are not a
// multiple of 16, B-frames with deep reordering, field coding, a mid-stream resolution change,
// hidden (alt-ref) VP8/VP9 frames, AV1 hidden frames shown by show_existing_frame. Each at most
// 30 frames. AV1 clips (names av1_*) decode only through virtio-media.
const std::vector<ClipSpec>& standardClips();
const ClipSpec& standardClip(const std::string& name);

}  // namespace vdec::testing
