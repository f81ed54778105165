// SPDX-License-Identifier: MIT
// Every vector of the conformance manifest (../shared/conformance/manifest.tsv) through the real
// daemon with frame threads (--threads 2), compared vector by vector and frame by frame with
// host ffmpeg: 3 runs (memory modes sg, object, contig, one each) with the harness's client, and
// one run with its v4l2-ctl client.
//
// The reference is ClipFactory::referenceCommand, the one every generated clip uses: libavcodec's
// own decoder, each decoded frame once (-fps_mode passthrough), at its own size (-autoscale 0:
// without it the ffmpeg tool scales the frames after a mid-stream resolution change to the first
// size), the visible area exactly (-flags unaligned: without it libavcodec keeps the columns of
// a left crop that is not a multiple of its alignment, e.g. CVFC1_Sony_C comes out 326x168 with
// the 26 columns left of the 300x168 window), as yuv420p, one md5 per frame (framemd5, i.e. the
// md5 of each frame of `-f rawvideo -pix_fmt yuv420p`). Host ffmpeg runs once per vector per
// test process (cached).
//
// The runs use `vdec-harness conformance` on a manifest made here: the same vectors, each
// checked md5-per-frame against its host-ffmpeg framemd5 file, so one daemon and one harness
// process decode the whole manifest. The harness reports, per vector, the first frame whose md5
// differs, or the frame count when every common frame matches.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/clips/clip_factory.h"
#include "tests/integration/daemon_process.h"
#include "tests/test_paths.h"

namespace vdec::testing {
namespace {

// Vectors the 4:2:0 device cannot produce: it refuses them with an error event (the harness
// counts that as the expected result) where host ffmpeg converts to 4:2:0.
const std::map<std::string, std::string>& notFourTwoZero() {
  static const std::map<std::string, std::string> vectors{
      {"vp91-2-04-yuv422.webm",
       "4:2:2; the device does not advertise it and answers with an error event, host ffmpeg "
       "converts it to 4:2:0"}};
  return vectors;
}

// --client v4l2-ctl only: mid-stream resolution changes. v4l2-ctl reallocates CAPTURE only after
// a LAST buffer, and the ARCVM guest driver never produces one for a resolution change
// (../shared/reference/guest-driver.md §8), so a real guest gets the frames before the change
// and nothing after it. The test asserts exactly that: every frame before the change, bit-exact,
// and no frame of the new size. The list must equal the vectors whose host-ffmpeg frames change
// size (checked), so it cannot go stale.
const std::map<std::string, std::string>& v4l2CtlResolutionChanges() {
  static const std::map<std::string, std::string> vectors{
      {"vp80-03-segmentation-1425", "resolution change after frame 4 (of 14)"},
      {"vp80-03-segmentation-1436", "resolution change after frame 1 (of 2)"}};
  return vectors;
}

struct Reference {
  std::string codec;
  std::string name;
  std::string framemd5;              // host ffmpeg's framemd5 file
  std::vector<std::string> md5s;     // per frame
  std::vector<std::string> sizes;    // per frame, bytes (yuv420p), which tells a size change
  size_t framesBeforeSizeChange = 0;  // == md5s.size() without one
  std::string error;                 // host ffmpeg failed
};

struct References {
  std::string error;  // a setup problem (no ffmpeg, unreadable manifest)
  std::vector<Reference> vectors;
  std::string manifest;  // the generated manifest: every vector, md5-per-frame against host ffmpeg
  double seconds = 0;
};

std::string findOnPath(const std::string& tool) {
  const char* path = std::getenv("PATH");
  std::stringstream folders(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string folder; std::getline(folders, folder, ':');) {
    std::string candidate = (folder.empty() ? "." : folder) + "/" + tool;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

std::vector<std::string> splitTabs(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  for (std::string field; std::getline(in, field, '\t');) fields.push_back(field);
  return fields;
}

std::string trim(const std::string& text) {
  auto begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t\r") - begin + 1);
}

// framemd5 lines: "stream, dts, pts, duration, size, md5".
void parseFramemd5(Reference& ref) {
  std::ifstream in(ref.framemd5);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream parts(line);
    for (std::string field; std::getline(parts, field, ',');) fields.push_back(trim(field));
    if (fields.size() < 6) continue;
    ref.sizes.push_back(fields[4]);
    ref.md5s.push_back(fields[5]);
  }
  ref.framesBeforeSizeChange = ref.md5s.size();
  for (size_t i = 1; i < ref.sizes.size(); ++i) {
    if (ref.sizes[i] != ref.sizes[0]) {
      ref.framesBeforeSizeChange = i;
      break;
    }
  }
  if (ref.md5s.empty()) ref.error = "host ffmpeg wrote no frame into " + ref.framemd5;
}

// Host ffmpeg on every vector of the manifest, once per process, two at a time.
const References& hostReferences() {
  static TempDir dir;
  static const References references = [] {
    References refs;
    const auto start = std::chrono::steady_clock::now();
    const std::string ffmpeg = findOnPath("ffmpeg");
    if (ffmpeg.empty()) {
      refs.error = "the ffmpeg tool is not on PATH (Debian: apt-get install ffmpeg)";
      return refs;
    }
    std::ifstream manifest(conformanceFile("manifest.tsv"));
    std::string header;
    std::getline(manifest, header);
    std::vector<std::string> columns = splitTabs(header);
    auto column = [&](const std::string& name) {
      return static_cast<size_t>(std::find(columns.begin(), columns.end(), name) -
                                 columns.begin());
    };
    const size_t codecCol = column("codec"), nameCol = column("name"), fileCol = column("file"),
                 pixCol = column("pix_fmt"), suiteCol = column("suite");
    if (std::max({codecCol, nameCol, fileCol, pixCol, suiteCol}) >= columns.size()) {
      refs.error = "manifest.tsv has no codec/suite/name/file/pix_fmt column: " + header;
      return refs;
    }
    std::ostringstream generated;
    generated << "codec\tsuite\tname\tfile\tpix_fmt\tcheck\texpected\n";
    std::vector<std::pair<std::string, std::string>> inputs;  // per vector: bitstream, pix_fmt
    for (std::string line; std::getline(manifest, line);) {
      auto fields = splitTabs(line);
      if (fields.size() <= std::max({codecCol, nameCol, fileCol, pixCol, suiteCol})) continue;
      Reference ref;
      ref.codec = fields[codecCol];
      ref.name = fields[nameCol];
      ref.framemd5 = dir.file(ref.name + ".framemd5");
      std::string file = fields[fileCol];
      if (file.empty() || file[0] != '/') file = conformanceDir() + "/" + file;
      // The device's 4:2:0 output is compared with yuv420p; other formats keep their pix_fmt so
      // the harness expects the device to refuse them.
      const std::string& pixFmt = fields[pixCol];
      const bool fourTwoZero = pixFmt == "yuv420p" || pixFmt == "nv12";
      generated << ref.codec << '\t' << fields[suiteCol] << '\t' << ref.name << '\t' << file
                << '\t' << (fourTwoZero ? "yuv420p" : pixFmt) << "\tmd5-per-frame\t"
                << ref.framemd5 << " (host ffmpeg)\n";
      inputs.emplace_back(file, pixFmt);
      refs.vectors.push_back(std::move(ref));
    }
    auto decode = [&](size_t i) {
      Reference& ref = refs.vectors[i];
      auto argv = ClipFactory::referenceCommand(ref.codec, inputs[i].first, ref.framemd5);
      argv[0] = ffmpeg;
      CommandResult result = runCommand(argv, 300);
      if (result.exitCode != 0) {
        ref.error = "host ffmpeg failed (exit " + std::to_string(result.exitCode) +
                    "): " + result.output;
        return;
      }
      parseFramemd5(ref);
    };
    std::vector<std::future<void>> workers;
    const size_t threads = std::max<size_t>(2, std::thread::hardware_concurrency());
    std::atomic<size_t> next{0};
    for (size_t t = 0; t < threads; ++t) {
      workers.push_back(std::async(std::launch::async, [&] {
        for (size_t i = next++; i < refs.vectors.size(); i = next++) decode(i);
      }));
    }
    for (auto& worker : workers) worker.get();
    refs.manifest = dir.file("host-ffmpeg-manifest.tsv");
    std::ofstream(refs.manifest) << generated.str();
    refs.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return refs;
  }();
  return references;
}

struct VectorLine {
  std::string verdict;  // PASS, PASS (expected unsupported), FAIL
  unsigned frames = 0;
  std::string detail;
};

// "PASS vp8 name (29 frames, 0.12 s)", "FAIL h264 name (3 frames, 0.10 s): frame 2: md5 ...".
std::map<std::string, VectorLine> parseRunnerOutput(const std::string& output) {
  static const std::regex line(
      R"(^(PASS \(expected unsupported\)|PASS|FAIL) (\S+) (\S+) \(([0-9]+) frames, [0-9.]+ s\)(: (.*))?$)");
  std::map<std::string, VectorLine> results;
  std::stringstream in(output);
  for (std::string text; std::getline(in, text);) {
    std::smatch match;
    if (!std::regex_match(text, match, line)) continue;
    results[match[3]] = {match[1], static_cast<unsigned>(std::stoul(match[4])), match[6]};
  }
  return results;
}

// Decodes the whole manifest once through a fresh daemon; returns the harness's output.
CommandResult decodeManifest(const std::vector<std::string>& extra) {
  DaemonProcess daemon({"--threads", "2"});
  std::vector<std::string> args{"conformance", hostReferences().manifest};
  args.insert(args.end(), extra.begin(), extra.end());
  auto result = runHarness(daemon.socketPath(), args, 1200);
  EXPECT_TRUE(daemon.running()) << "the daemon died";
  return result;
}

#define VDEC_HOST_REFERENCES_OR_SKIP()                                                    \
  VDEC_SKIP_WITHOUT_CONFORMANCE();                                                      \
  const References& refs = hostReferences();                                            \
  if (!refs.error.empty()) GTEST_SKIP() << refs.error;                                  \
  for (const Reference& ref : refs.vectors) ASSERT_TRUE(ref.error.empty()) << ref.name  \
                                                                           << ": " << ref.error

// The harness's client, with frame threads, one memory mode per run.
struct RunCase {
  const char* name;
  const char* memory;
};

class HostFfmpegCompareTest : public ::testing::TestWithParam<RunCase> {};

TEST_P(HostFfmpegCompareTest, EveryVectorEqualsHostFfmpeg) {
  VDEC_HOST_REFERENCES_OR_SKIP();
  const auto start = std::chrono::steady_clock::now();
  auto result = decodeManifest({"--memory", GetParam().memory});
  auto lines = parseRunnerOutput(result.output);
  std::vector<std::string> failures;
  for (const Reference& ref : refs.vectors) {
    auto it = lines.find(ref.name);
    if (it == lines.end()) {
      failures.push_back(ref.name + ": no result line");
      continue;
    }
    const VectorLine& got = it->second;
    if (notFourTwoZero().count(ref.name) != 0) {
      if (got.verdict != "PASS (expected unsupported)")
        failures.push_back(ref.name + " (" + notFourTwoZero().at(ref.name) + "): " +
                           got.verdict + " " + got.detail);
      continue;
    }
    if (got.verdict != "PASS" || got.frames != ref.md5s.size())
      failures.push_back(ref.name + ": " + std::to_string(got.frames) + " frames, host ffmpeg " +
                         std::to_string(ref.md5s.size()) + (got.detail.empty() ? "" : ": ") +
                         got.detail);
  }
  std::string list;
  for (const auto& failure : failures) list += "  " + failure + "\n";
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << refs.vectors.size()
                                << " vectors differ from host ffmpeg (memory "
                                << GetParam().memory << ", --threads 2):\n"
                                << list;
  EXPECT_EQ(lines.size(), refs.vectors.size()) << result.output;
  std::printf("[ host ffmpeg ] %zu vectors, memory %s: %zu differ; host ffmpeg %.1f s (once), "
              "this run %.1f s\n",
              refs.vectors.size(), GetParam().memory, failures.size(), refs.seconds,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

INSTANTIATE_TEST_SUITE_P(ThreeRuns, HostFfmpegCompareTest,
                         ::testing::Values(RunCase{"run1_sg", "sg"},
                                           RunCase{"run2_object", "object"},
                                           RunCase{"run3_contig", "contig"}),
                         [](const ::testing::TestParamInfo<RunCase>& info) {
                           return info.param.name;
                         });

// --client v4l2-ctl (as v4l2-ctl 1.22 on the ARCVM guest driver plays a file), once per vector.
TEST(HostFfmpegV4l2CtlCompareTest, EveryVectorEqualsHostFfmpeg) {
  VDEC_HOST_REFERENCES_OR_SKIP();
  const auto start = std::chrono::steady_clock::now();
  // The exception list is exactly the vectors whose frames change size.
  std::set<std::string> sizeChanges, listed;
  for (const Reference& ref : refs.vectors)
    if (ref.framesBeforeSizeChange != ref.md5s.size()) sizeChanges.insert(ref.name);
  for (const auto& [name, reason] : v4l2CtlResolutionChanges()) listed.insert(name);
  EXPECT_EQ(listed, sizeChanges) << "update v4l2CtlResolutionChanges()";

  auto result = decodeManifest({"--client", "v4l2-ctl", "--memory", "sg"});
  auto lines = parseRunnerOutput(result.output);
  static const std::regex countOnly(R"(^([0-9]+) frames, expected ([0-9]+))");
  std::vector<std::string> failures;
  for (const Reference& ref : refs.vectors) {
    auto it = lines.find(ref.name);
    if (it == lines.end()) {
      failures.push_back(ref.name + ": no result line");
      continue;
    }
    const VectorLine& got = it->second;
    if (notFourTwoZero().count(ref.name) != 0) {
      if (got.verdict != "PASS (expected unsupported)")
        failures.push_back(ref.name + " (" + notFourTwoZero().at(ref.name) + "): " +
                           got.verdict + " " + got.detail);
      continue;
    }
    if (auto change = v4l2CtlResolutionChanges().find(ref.name);
        change != v4l2CtlResolutionChanges().end()) {
      // What the guest really gets: the frames before the change, bit-exact (every common
      // frame matched, or the harness would name the first that differs), nothing after it.
      std::smatch match;
      if (got.frames != ref.framesBeforeSizeChange ||
          !std::regex_search(got.detail, match, countOnly))
        failures.push_back(ref.name + " (" + change->second + ", guest-driver.md §8): expected " +
                           std::to_string(ref.framesBeforeSizeChange) +
                           " frames bit-exact, got " + std::to_string(got.frames) + ": " +
                           got.verdict + " " + got.detail);
      continue;
    }
    if (got.verdict != "PASS" || got.frames != ref.md5s.size())
      failures.push_back(ref.name + ": " + std::to_string(got.frames) + " frames, host ffmpeg " +
                         std::to_string(ref.md5s.size()) + (got.detail.empty() ? "" : ": ") +
                         got.detail);
  }
  std::string list;
  for (const auto& failure : failures) list += "  " + failure + "\n";
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << refs.vectors.size()
                                << " vectors differ from host ffmpeg (--client v4l2-ctl, "
                                   "memory sg, --threads 2):\n"
                                << list;
  EXPECT_EQ(lines.size(), refs.vectors.size()) << result.output;
  std::printf("[ host ffmpeg ] %zu vectors, --client v4l2-ctl: %zu differ; this run %.1f s\n",
              refs.vectors.size(), failures.size(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace
}  // namespace vdec::testing
