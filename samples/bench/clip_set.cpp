// SPDX-License-Identifier: MIT
#include "samples/bench/clip_set.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace vdec::bench {

Result<TempDir> TempDir::create(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = fmt::format("{}/{}-XXXXXX", base ? base : "/tmp", prefix);
  if (mkdtemp(pattern.data()) == nullptr)
    return makeError(ErrorCode::kBackendFailure, "mkdtemp({}) failed", pattern);
  return TempDir(pattern);
}

TempDir::~TempDir() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

std::vector<ClipSpec> defaultClipSpecs(bool quick, double seconds) {
  if (quick) return {{"360p-h264", "libx264", "mp4", 640, 360, 1.0, 25, "1M"}};
  const double uhdSeconds = std::max(1.0, seconds * 0.4);
  return {
      {"1080p-h264", "libx264", "mp4", 1920, 1080, seconds, 25, "6M"},
      {"1080p-hevc", "libx265", "mp4", 1920, 1080, seconds, 25, "4M"},
      {"1080p-vp9", "libvpx-vp9", "ivf", 1920, 1080, seconds, 25, "4M"},
      {"2160p-h264", "libx264", "mp4", 3840, 2160, uhdSeconds, 25, "20M"},
  };
}

namespace {

// Runs argv with stdout/stderr into `logPath`; returns the exit status (-1: not run).
int runTool(const std::vector<std::string>& argv, const std::string& logPath) {
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (auto& arg : copy) args.push_back(arg.data());
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    if (FILE* log = std::freopen(logPath.c_str(), "w", stdout)) dup2(fileno(log), STDERR_FILENO);
    execvp(args[0], args.data());
    _exit(127);
  }
  if (pid < 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

Result<Clip> makeClip(const std::string& ffmpegTool, const ClipSpec& spec, const std::string& dir) {
  const std::string path = fmt::format("{}/{}-{:g}s.{}", dir, spec.name, spec.seconds, spec.extension);
  std::error_code error;
  if (std::filesystem::file_size(path, error) > 0 && !error) return Clip{spec.name, path};
  // Written under another name and renamed when complete: an interrupted run caches nothing.
  const std::string partial = fmt::format("{}/{}.partial.{}", dir, spec.name, spec.extension);
  // testsrc2 moves, the temporal noise keeps the encoder from predicting everything away, so the
  // bitrate and the decoding work look like camera content rather than a still pattern.
  const std::string source =
      fmt::format("testsrc2=size={}x{}:rate={},noise=alls=8:allf=t,format=yuv420p", spec.width,
                  spec.height, spec.fps);
  std::vector<std::string> argv{
      ffmpegTool,   "-nostdin", "-y",        "-hide_banner", "-f",
      "lavfi",      "-i",       source,      "-t",           fmt::format("{}", spec.seconds),
      "-c:v",       spec.codec, "-b:v",      spec.bitrate,   "-maxrate",
      spec.bitrate, "-bufsize", spec.bitrate};
  if (spec.codec == "libx264") argv.insert(argv.end(), {"-preset", "veryfast", "-bf", "3"});
  if (spec.codec == "libx265")
    argv.insert(argv.end(), {"-preset", "ultrafast", "-x265-params", "log-level=error"});
  if (spec.codec == "libvpx-vp9")
    argv.insert(argv.end(), {"-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1"});
  if (spec.codec == "libx265") argv.insert(argv.end(), {"-tag:v", "hvc1"});
  argv.push_back(partial);
  const std::string logPath = path + ".log";
  if (int status = runTool(argv, logPath); status != 0) {
    std::ifstream in(logPath);
    std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (log.size() > 1500) log = log.substr(log.size() - 1500);
    std::filesystem::remove(partial, error);
    return makeError(ErrorCode::kBackendFailure, "{} failed making {} (exit {}): {}", ffmpegTool,
                     spec.name, status, log);
  }
  std::filesystem::rename(partial, path, error);
  if (error)
    return makeError(ErrorCode::kBackendFailure, "cannot rename {}: {}", partial, error.message());
  return Clip{spec.name, path};
}

Clip userClip(const std::string& path) {
  return Clip{std::filesystem::path(path).stem().string(), path};
}

}  // namespace vdec::bench
