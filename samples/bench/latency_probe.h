// SPDX-License-Identifier: MIT
// LatencyProbe: command latency of the device, measured as GET_PARAMS_EXT round trips on a
// second, idle stream of the same connection (while another stream decodes, or not).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "samples/bench/bench_report.h"
#include "samples/harness/video_driver.h"
#include "vdec/base/result.h"

namespace vdec::bench {

// Borrows `driver`. Single-threaded, on the caller's thread (e.g. a GuestStream hook).
class LatencyProbe {
 public:
  LatencyProbe(harness::VideoDriver& driver, uint32_t streamId);
  ~LatencyProbe();
  LatencyProbe(const LatencyProbe&) = delete;
  LatencyProbe& operator=(const LatencyProbe&) = delete;

  Status open();                // STREAM_CREATE (H.264) on the probe's stream id
  Status probe(int count = 1);  // `count` timed GET_PARAMS_EXT(INPUT) round trips
  void close();                 // STREAM_DESTROY
  size_t samples() const { return samplesUs_.size(); }
  // Percentiles over every sample so far (nearest rank).
  LatencyResult summarize(const std::string& clip) const;

 private:
  harness::VideoDriver& driver_;
  uint32_t streamId_;
  bool open_ = false;
  std::vector<double> samplesUs_;
};

// p50, p99 (nearest rank) and max of `samplesUs`, labelled.
LatencyResult summarizeLatency(const std::string& label, std::vector<double> samplesUs);

}  // namespace vdec::bench
