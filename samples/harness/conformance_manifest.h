// SPDX-License-Identifier: MIT
// ConformanceManifest: the vector list of a conformance manifest (manifest.tsv) and the
// per-frame md5 side files it points to.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vdec/base/result.h"

namespace vdec::harness {

struct ConformanceVector {
  std::string codec;  // h264, hevc, vp8, vp9
  std::string suite;
  std::string name;
  std::string file;      // absolute or relative to the caller's folder: manifest folder + `file`
  std::string pixFmt;    // yuv420p, nv12, yuv422p, ...
  std::string check;     // md5-whole-output or md5-per-frame
  std::string expected;  // an md5, or "<side file> (<note>)" for md5-per-frame
};

class ConformanceManifest {
 public:
  // Parses the TSV text; columns are found by the header's names (codec suite name file
  // pix_fmt check expected are required, others ignored). `file` is joined to `baseDir`.
  static Result<ConformanceManifest> parse(std::string_view text, const std::string& baseDir);
  static Result<ConformanceManifest> load(const std::string& path);

  const std::vector<ConformanceVector>& vectors() const { return vectors_; }

 private:
  std::vector<ConformanceVector> vectors_;
};

// The side file an md5-per-frame vector names: the first word of `expected`, next to the
// bitstream.
std::string sideFilePath(const ConformanceVector& vector);

// Per-frame md5s from a side file: a `.json` with a "md5_checksums" list, or a text file with
// one md5 per line (the 32-hex-digit word of each line, so "md5", "md5  name" and framehash
// lines all work; lines without one are skipped). Digests come back lowercase.
Result<std::vector<std::string>> parseFrameMd5s(std::string_view text, bool json);
Result<std::vector<std::string>> loadFrameMd5s(const std::string& path);

}  // namespace vdec::harness
