// SPDX-License-Identifier: MIT
// ConformanceRunner: decodes every vector of a manifest through the device (one fresh stream
// each, same driver connection) and checks the output md5s.
#include "samples/harness/conformance_runner.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include "samples/harness/bitstream_reader.h"
#include "samples/harness/frame_sink.h"
#include "vdec/base/logging.h"

namespace vdec::harness {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Compares per-frame md5s; empty when they match.
std::string compareFrames(const std::vector<std::string>& got,
                          const std::vector<std::string>& want) {
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i)
    if (got[i] != want[i]) return fmt::format("frame {}: md5 {}, expected {}", i, got[i], want[i]);
  if (got.size() != want.size())
    return fmt::format("{} frames, expected {}", got.size(), want.size());
  return {};
}

}  // namespace

ConformanceRunner::ConformanceRunner(VideoDriver& driver, const ConformanceOptions& options)
    : decoder_([&driver, decode = options.decode](const BitstreamReader& input, FrameSink& sink) {
        return DecodeRunner(driver, decode).run(input, sink);
      }),
      options_(options) {}

ConformanceRunner::ConformanceRunner(VectorDecoder decoder, const ConformanceOptions& options)
    : decoder_(std::move(decoder)), options_(options) {}

VectorResult ConformanceRunner::runVector(const ConformanceVector& vector) {
  VectorResult result;
  auto codec = codecs::parseCodedFormat(vector.codec);
  if (!codec) {
    result.detail = fmt::format("unknown codec '{}'", vector.codec);
    return result;
  }
  // A pix_fmt the 4:2:0 device cannot produce must be refused with an error event.
  auto dumpFormat = parseDumpFormat(vector.pixFmt);
  const bool expectUnsupported = !dumpFormat;

  std::vector<std::string> expectedFrames;
  if (vector.check == "md5-per-frame" && !expectUnsupported) {
    auto md5s = loadFrameMd5s(sideFilePath(vector));
    if (!md5s) {
      result.detail = md5s.error().message;
      return result;
    }
    expectedFrames = std::move(*md5s);
  }
  auto input = BitstreamReader::open(vector.file, BitstreamOptions{codec, std::nullopt});
  if (!input) {
    result.detail = input.error().message;
    return result;
  }
  FrameSinkOptions sinkOptions;
  sinkOptions.dumpFormat = dumpFormat.value_or(DumpFormat::kYuv420p);
  auto sink = FrameSink::create(sinkOptions);
  if (!sink) {
    result.detail = sink.error().message;
    return result;
  }
  auto summary = decoder_(*input, *sink);
  if (!summary) {
    result.frames = sink->frames();
    result.detail = summary.error().message;
    return result;
  }
  result.frames = summary->frames;
  result.seconds = summary->seconds;
  if (expectUnsupported) {
    result.expectedUnsupported = true;
    result.passed = summary->errorEvents > 0 || summary->errorFrames > 0;
    if (!result.passed)
      result.detail =
          fmt::format("{} is not 4:2:0 but the device reported no error", vector.pixFmt);
    return result;
  }
  if (summary->errorEvents > 0) {
    result.detail = fmt::format("device reported an error event after {} frames", summary->frames);
    return result;
  }
  if (vector.check == "md5-per-frame") {
    result.detail = compareFrames(sink->frameMd5s(), expectedFrames);
  } else if (summary->wholeMd5 != lower(vector.expected)) {
    result.detail = fmt::format("md5 {}, expected {}", summary->wholeMd5, vector.expected);
  }
  if (!result.detail.empty() && summary->errorFrames > 0)
    result.detail += fmt::format(" ({} error frames)", summary->errorFrames);
  if (!result.detail.empty() && options_.decode.client == ClientMode::kV4l2Ctl)
    result.detail += fmt::format(" (v4l2-ctl: STOP {}, EOS {}, left on {})",
                                 !summary->stopSent      ? "not sent"
                                 : summary->stopDropped ? "dropped"
                                                        : "sent",
                                 summary->gotEos ? "seen" : "not seen", summary->ending);
  result.passed = result.detail.empty();
  return result;
}

Result<ConformanceReport> ConformanceRunner::run(const ConformanceManifest& manifest,
                                                 std::FILE* out) {
  std::regex filter;
  if (!options_.filter.empty()) {
    try {
      filter = std::regex(options_.filter, std::regex::ECMAScript);
    } catch (const std::regex_error& error) {
      return makeError(ErrorCode::kInvalidParameter, "bad --filter '{}': {}", options_.filter,
                       error.what());
    }
  }
  ConformanceReport report;
  for (const ConformanceVector& vector : manifest.vectors()) {
    if (!options_.filter.empty() && !std::regex_search(vector.name, filter)) {
      ++report.skipped;
      continue;
    }
    VectorResult result = runVector(vector);
    ++(result.passed ? report.passed : report.failed);
    const char* verdict = !result.passed               ? "FAIL"
                          : result.expectedUnsupported ? "PASS (expected unsupported)"
                                                       : "PASS";
    std::string line = fmt::format("{} {} {} ({} frames, {:.2f} s)", verdict, vector.codec,
                                   vector.name, result.frames, result.seconds);
    if (!result.passed) line += ": " + result.detail;
    std::fprintf(out, "%s\n", line.c_str());
    std::fflush(out);
  }
  std::fprintf(out, "%u passed, %u failed\n", report.passed, report.failed);
  return report;
}

}  // namespace vdec::harness
