// SPDX-License-Identifier: MIT
#include "samples/bench/bench_report.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>

#include <fmt/format.h>

namespace vdec::bench {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

double medianOf(std::vector<double> values) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }),
               values.end());
  if (values.empty()) return kNan;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

template <typename Field>
double medianField(const std::vector<RunSample>& runs, Field field) {
  std::vector<double> values;
  for (const RunSample& run : runs) values.push_back(double(run.*field));
  return medianOf(values);
}

const ModeResult* find(const BenchReport& report, const std::string& clip, Mode mode) {
  for (const ModeResult& result : report.results)
    if (result.clip == clip && result.mode == mode) return &result;
  return nullptr;
}

// "1234", "1.2", "-" for NaN.
std::string num(double value, int decimals) {
  if (std::isnan(value)) return "-";
  return fmt::format("{:.{}f}", value, decimals);
}

std::string bytesText(double bytes) {
  if (std::isnan(bytes)) return "n/a";
  if (bytes >= 1e6) return fmt::format("{:.2f} MB", bytes / 1e6);
  if (bytes >= 1e3) return fmt::format("{:.1f} kB", bytes / 1e3);
  return fmt::format("{:.0f} B", bytes);
}

std::vector<std::string> clipsOf(const BenchReport& report) {
  std::vector<std::string> clips;
  for (const ModeResult& result : report.results)
    if (std::find(clips.begin(), clips.end(), result.clip) == clips.end())
      clips.push_back(result.clip);
  return clips;
}

std::string xmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string_view modeName(Mode mode) {
  switch (mode) {
    case Mode::kLimit:
      return "limit";
    case Mode::kZeroCopy:
      return "zero-copy";
    case Mode::kBounce:
      return "bounce";
  }
  return "?";
}

void BenchReport::summarize() {
  for (ModeResult& result : results) {
    if (result.runs.empty()) continue;
    RunSample& m = result.median;
    m = result.runs.back();
    m.fps = medianField(result.runs, &RunSample::fps);
    m.deviceCpuMsPerFrame = medianField(result.runs, &RunSample::deviceCpuMsPerFrame);
    m.harnessCpuMsPerFrame = medianField(result.runs, &RunSample::harnessCpuMsPerFrame);
    m.bytesCopiedPerFrame = medianField(result.runs, &RunSample::bytesCopiedPerFrame);
    m.ttffMs = medianField(result.runs, &RunSample::ttffMs);
    m.faultsPerFrame = medianField(result.runs, &RunSample::faultsPerFrame);
    m.switchesPerFrame = medianField(result.runs, &RunSample::switchesPerFrame);
    m.callsPerFrame = medianField(result.runs, &RunSample::callsPerFrame);
    m.kicksPerFrame = medianField(result.runs, &RunSample::kicksPerFrame);
  }
  for (ModeResult& result : results) {
    const Mode base = result.mode == Mode::kZeroCopy ? Mode::kLimit : Mode::kZeroCopy;
    const ModeResult* reference =
        result.mode == Mode::kLimit ? nullptr : find(*this, result.clip, base);
    result.ratio =
        reference && reference->median.fps > 0 ? result.median.fps / reference->median.fps : kNan;
  }
}

std::string formatTable(const BenchReport& report) {
  constexpr const char* kRow =
      "{:<28} {:<9} {:>7} {:>6} {:>7} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6} {:>11} {:>6}\n";
  std::string out =
      fmt::format(kRow, "case", "mode", "fps", "ratio", "ttff ms", "dev ms/f", "gst ms/f",
                  "faults/f", "csw/f", "call/f", "kick/f", "copied/f", "frames");
  for (const ModeResult& result : report.results) {
    const RunSample& m = result.median;
    std::string ratio = std::isnan(result.ratio) ? "" : fmt::format("{:.3f}", result.ratio);
    out +=
        fmt::format(kRow, result.clip, modeName(result.mode), num(m.fps, 1), ratio,
                    num(m.ttffMs, 1), num(m.deviceCpuMsPerFrame, 2), num(m.harnessCpuMsPerFrame, 2),
                    num(m.faultsPerFrame, 1), num(m.switchesPerFrame, 1), num(m.callsPerFrame, 2),
                    num(m.kicksPerFrame, 2), bytesText(m.bytesCopiedPerFrame), m.frames);
  }
  out += "ratio: zero-copy = zero-copy/limit fps, bounce = bounce/zero-copy fps; medians of " +
         fmt::format(
             "{} runs; {} decoder threads per stream at most; fps of one stream is its "
             "steady state (first picture to EOS), of several their aggregate\n",
             report.repeat, report.threads);
  if (!report.latency.empty()) {
    out += fmt::format("\n{:<64} {:>8} {:>10} {:>10} {:>10}\n", "GET_PARAMS_EXT latency", "samples",
                       "p50 us", "p99 us", "max us");
    for (const LatencyResult& l : report.latency) {
      const std::string label = l.clip == "idle"                    ? std::string("idle device")
                                : l.clip.starts_with(kMachineFloor) ? l.clip
                                                                    : "during " + l.clip;
      out += fmt::format("{:<64} {:>8} {:>10.0f} {:>10.0f} {:>10.0f}\n", label, l.samples,
                         l.p50Us, l.p99Us, l.maxUs);
    }
  }
  return out;
}

// RFC 4180: a field with a comma or a quote is quoted (the option lists "i420,nv12").
static std::string csvText(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

Status writeCsv(const std::string& path, const BenchReport& report) {
  std::ofstream out(path);
  if (!out) return makeError(ErrorCode::kBackendFailure, "cannot write {}", path);
  out << "case,mode,fps,ratio,cpu_device_ms_per_frame,cpu_harness_ms_per_frame,"
         "bytes_copied_per_frame,frames,direct_frames,bounce_frames,output_format,memory,threads,"
         "repeat,latency_samples,latency_p50_us,latency_p99_us,latency_max_us,ttff_ms,"
         "minor_faults_per_frame,context_switches_per_frame,calls_per_frame,kicks_per_frame\n";
  auto field = [](double value, int decimals) {
    return std::isnan(value) ? std::string() : fmt::format("{:.{}f}", value, decimals);
  };
  for (const ModeResult& r : report.results) {
    const RunSample& m = r.median;
    out << fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},,,,,{},{},{},{},{}\n", csvText(r.clip),
        modeName(r.mode), field(m.fps, 2), field(r.ratio, 4), field(m.deviceCpuMsPerFrame, 3),
        field(m.harnessCpuMsPerFrame, 3), field(m.bytesCopiedPerFrame, 0), m.frames, m.directFrames,
        m.bounceFrames, csvText(report.outputFormat), csvText(report.memory), report.threads,
        report.repeat, field(m.ttffMs, 2), field(m.faultsPerFrame, 2), field(m.switchesPerFrame, 2),
        field(m.callsPerFrame, 3), field(m.kicksPerFrame, 3));
  }
  for (const LatencyResult& l : report.latency)
    out << fmt::format("{},latency,,,,,,,,,{},{},{},{},{},{:.1f},{:.1f},{:.1f},,,,,\n",
                       csvText(l.clip), csvText(report.outputFormat), csvText(report.memory),
                       report.threads, report.repeat, l.samples, l.p50Us, l.p99Us, l.maxUs);
  if (!out) return makeError(ErrorCode::kBackendFailure, "error writing {}", path);
  return okStatus();
}

// A grouped bar chart: per clip, fps of limit / zero-copy / bounce, the value above each bar,
// the ratio and bytes copied per frame under the device bars.
Status writeSvg(const std::string& path, const BenchReport& report) {
  const std::vector<std::string> clips = clipsOf(report);
  const Mode modes[] = {Mode::kLimit, Mode::kZeroCopy, Mode::kBounce};
  const char* colors[] = {"#9e9e9e", "#1f77b4", "#ff7f0e"};
  const int barWidth = 46, barGap = 6, groupGap = 50;
  const int groupWidth = 3 * barWidth + 2 * barGap;
  const int left = 70, top = 70, plotHeight = 300, bottom = 120;
  const int width = left + int(clips.size()) * (groupWidth + groupGap) + 20;
  const int height = top + plotHeight + bottom;
  double maxFps = 1;
  for (const ModeResult& r : report.results)
    if (!std::isnan(r.median.fps)) maxFps = std::max(maxFps, r.median.fps);
  // A round axis top: 1, 2 or 5 times a power of ten, with 5 gridlines.
  double step = std::pow(10, std::floor(std::log10(maxFps / 5)));
  for (double f : {1.0, 2.0, 5.0, 10.0})
    if (maxFps / (step * f) <= 5) {
      step *= f;
      break;
    }
  const double axisMax = step * std::ceil(maxFps / step);
  auto y = [&](double fps) { return top + plotHeight - fps / axisMax * plotHeight; };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"24\" font-size=\"16\" font-weight=\"bold\">vdec decoding speed: "
      "frames per second (higher is better)</text>\n"
      "<text x=\"{}\" y=\"42\" fill=\"#555\">{}; {} output, {} memory, {} decoder threads, median "
      "of {} runs</text>\n",
      width, height, left, left, xmlEscape(report.machine), report.outputFormat, report.memory,
      report.threads, report.repeat);
  for (double v = 0; v <= axisMax + step / 2; v += step) {
    svg += fmt::format(
        "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\" fill=\"#555\">{:g}</text>\n",
        left, width - 20, y(v), y(v), left - 6, y(v) + 4, v);
  }
  svg += fmt::format(
      "<text transform=\"translate(18,{}) rotate(-90)\" text-anchor=\"middle\" "
      "fill=\"#555\">fps</text>\n",
      top + plotHeight / 2);
  for (size_t c = 0; c < clips.size(); ++c) {
    const int x0 = left + groupGap / 2 + int(c) * (groupWidth + groupGap);
    for (int m = 0; m < 3; ++m) {
      const ModeResult* r = find(report, clips[c], modes[m]);
      if (!r || std::isnan(r->median.fps)) continue;
      const int x = x0 + m * (barWidth + barGap);
      const double yTop = y(r->median.fps);
      svg += fmt::format(
          "<rect x=\"{}\" y=\"{:.1f}\" width=\"{}\" height=\"{:.1f}\" fill=\"{}\"/>"
          "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"middle\">{:.{}f}</text>\n",
          x, yTop, barWidth, top + plotHeight - yTop, colors[m], x + barWidth / 2, yTop - 4,
          r->median.fps, r->median.fps < 10 ? 1 : 0);
      if (r->mode != Mode::kLimit) {
        svg += fmt::format(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{}</text>"
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\" fill=\"#555\">{}"
            "</text>\n",
            x + barWidth / 2, top + plotHeight + 16,
            std::isnan(r->ratio) ? std::string("-") : fmt::format("{:.2f}x", r->ratio),
            x + barWidth / 2, top + plotHeight + 30, bytesText(r->median.bytesCopiedPerFrame));
      }
    }
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n",
        x0 + groupWidth / 2, top + plotHeight + 50, xmlEscape(clips[c]));
  }
  // Legend and how to read the numbers under the bars.
  const int ly = top + plotHeight + 75;
  for (int m = 0; m < 3; ++m)
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>"
        "<text x=\"{}\" y=\"{}\">{}</text>\n",
        left + m * 200, ly, colors[m], left + m * 200 + 18, ly + 11,
        m == 0   ? "limit (libavcodec alone)"
        : m == 1 ? "zero-copy (device)"
                 : "bounce (device)");
  svg += fmt::format(
      "<text x=\"{}\" y=\"{}\" fill=\"#555\">under the bars: zero-copy/limit and bounce/zero-copy "
      "fps, then bytes copied per frame (device statistics)</text>\n",
      left, ly + 34);
  svg += "</svg>\n";
  std::ofstream out(path);
  if (!out) return makeError(ErrorCode::kBackendFailure, "cannot write {}", path);
  out << svg;
  return out ? okStatus() : makeError(ErrorCode::kBackendFailure, "error writing {}", path);
}

}  // namespace vdec::bench
