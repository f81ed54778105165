// SPDX-License-Identifier: MIT
// ClipSet: the clips a benchmark run decodes: made at run time with the ffmpeg tool into a
// temporary folder (so nothing large is committed), or the user's own files.
#pragma once

#include <string>
#include <vector>

#include "vdec/base/result.h"

namespace vdec::bench {

struct Clip {
  std::string name;  // short label for tables and plots: "1080p-h264"
  std::string path;
};

// A temporary folder, removed with its contents on destruction (unless keep()).
class TempDir {
 public:
  static Result<TempDir> create(const std::string& prefix);
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

struct ClipSpec {
  std::string name;
  std::string codec;      // ffmpeg encoder: libx264, libx265, libvpx-vp9
  std::string extension;  // container: mp4 or ivf (one frame per guest buffer, as a real guest)
  int width = 0;
  int height = 0;
  double seconds = 0;
  int fps = 25;
  std::string bitrate;  // e.g. "6M"
};

// The default set: 1080p H.264, HEVC, VP9 (`seconds` long at 25 fps: 10 s = 250 frames) and
// 2160p H.264 (2/5 of that); `quick` is one tiny 360p H.264 clip for smoke tests.
std::vector<ClipSpec> defaultClipSpecs(bool quick, double seconds = 10);

// Encodes `spec` with `ffmpegTool` into `dir` as <name>-<seconds>s.<extension>, unless that file
// is already there (a cache: made clips are reused across runs); progress goes nowhere, errors
// into the result.
Result<Clip> makeClip(const std::string& ffmpegTool, const ClipSpec& spec, const std::string& dir);

// A user file: its name is the file name without folders and extension.
Clip userClip(const std::string& path);

}  // namespace vdec::bench
