// SPDX-License-Identifier: MIT
#include "samples/bench/latency_probe.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace vdec::bench {

LatencyProbe::LatencyProbe(harness::VideoDriver& driver, uint32_t streamId)
    : driver_(driver), streamId_(streamId) {}

LatencyProbe::~LatencyProbe() { close(); }

Status LatencyProbe::open() {
  VDEC_TRY(driver_.streamCreate(streamId_, wire::VIRTIO_VIDEO_FORMAT_H264));
  open_ = true;
  return okStatus();
}

Status LatencyProbe::probe(int count) {
  for (int i = 0; i < count; ++i) {
    const auto start = std::chrono::steady_clock::now();
    VDEC_TRY(driver_.getParams(streamId_, wire::VIRTIO_VIDEO_QUEUE_TYPE_INPUT));
    samplesUs_.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
  }
  return okStatus();
}

void LatencyProbe::close() {
  if (!open_) return;
  (void)driver_.streamDestroy(streamId_);  // nothing to do about a failure at the end
  open_ = false;
}

LatencyResult LatencyProbe::summarize(const std::string& clip) const {
  return summarizeLatency(clip, samplesUs_);
}

LatencyResult summarizeLatency(const std::string& label, std::vector<double> samplesUs) {
  LatencyResult result{label, samplesUs.size(), 0, 0, 0};
  if (samplesUs.empty()) return result;
  std::sort(samplesUs.begin(), samplesUs.end());
  auto rank = [&](double p) {
    const size_t index = static_cast<size_t>(std::ceil(p * double(samplesUs.size()))) - 1;
    return samplesUs[std::min(index, samplesUs.size() - 1)];
  };
  result.p50Us = rank(0.50);
  result.p99Us = rank(0.99);
  result.maxUs = samplesUs.back();
  return result;
}

}  // namespace vdec::bench
