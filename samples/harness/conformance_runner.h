// SPDX-License-Identifier: MIT
// ConformanceRunner: decodes every vector of a manifest through the device (one fresh stream
// each, same driver connection) and checks the output md5s.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "samples/harness/bitstream_reader.h"
#include "samples/harness/conformance_manifest.h"
#include "samples/harness/decode_runner.h"
#include "samples/harness/frame_sink.h"
#include "samples/harness/video_driver.h"

namespace vdec::harness {

struct ConformanceOptions {
  DecodeOptions decode;
  std::string filter;  // ECMAScript regex searched in the vector name; empty = all
};

struct VectorResult {
  bool passed = false;
  bool expectedUnsupported = false;  // passed because the device refused a format it lacks
  uint64_t frames = 0;
  double seconds = 0;
  std::string detail;  // why it failed
};

struct ConformanceReport {
  uint32_t passed = 0;
  uint32_t failed = 0;
  uint32_t skipped = 0;  // filtered out
};

// Decodes one vector into the sink (a fresh stream or session each time).
using VectorDecoder = std::function<Result<DecodeSummary>(const BitstreamReader&, FrameSink&)>;

// Borrows the driver. Caller's thread only.
class ConformanceRunner {
 public:
  // virtio-video: each vector through a DecodeRunner on `driver`.
  ConformanceRunner(VideoDriver& driver, const ConformanceOptions& options);
  // Any protocol: each vector through `decoder` (options.decode is only read for the client).
  ConformanceRunner(VectorDecoder decoder, const ConformanceOptions& options);

  // Prints "PASS|FAIL codec name (frames, time)" per vector to `out`, then the totals.
  // Fails only on a bad filter; vector failures are counted.
  Result<ConformanceReport> run(const ConformanceManifest& manifest, std::FILE* out);
  VectorResult runVector(const ConformanceVector& vector);

 private:
  VectorDecoder decoder_;
  ConformanceOptions options_;
};

}  // namespace vdec::harness
