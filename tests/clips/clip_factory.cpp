// SPDX-License-Identifier: MIT
#include "tests/clips/clip_factory.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace vdec::testing {
namespace {

namespace fs = std::filesystem;

struct ToolResult {
  int exitCode = -1;  // -1: did not start or was killed
  std::string output;  // stdout and stderr together
};

// Runs argv (argv[0] looked up in PATH) with stdin from /dev/null and the output captured.
ToolResult runTool(const std::vector<std::string>& argv) {
  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int devNull = ::open("/dev/null", O_RDONLY);
    ::dup2(devNull, STDIN_FILENO);
    ::dup2(pipeFds[1], STDOUT_FILENO);
    ::dup2(pipeFds[1], STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  ::close(pipeFds[1]);
  ToolResult result;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipeFds[0], buffer, sizeof(buffer))) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    result.output.append(buffer, static_cast<size_t>(n));
  }
  ::close(pipeFds[0]);
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
    result.exitCode = WEXITSTATUS(status);
  }
  return result;
}

std::string join(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& a : argv) text += (text.empty() ? "" : " ") + a;
  return text;
}

uint64_t fnv1a(const std::string& text) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

const char* extensionFor(const std::string& codec) {
  if (codec == "h264") return ".h264";
  if (codec == "hevc") return ".h265";
  return ".ivf";
}

std::string muxerFor(const std::string& codec) {
  if (codec == "h264") return "h264";
  if (codec == "hevc") return "hevc";
  return "ivf";
}

// The decoder of the reference: libavcodec's own, but for AV1 libdav1d (FFmpeg 5.1's native av1
// decoder needs a hardware accelerator), the decoder the device uses too.
std::string decoderFor(const std::string& codec) { return codec == "av1" ? "libdav1d" : codec; }

// Segments that can follow another in one file: Annex-B streams byte for byte, AV1 IVF frames
// (each segment starts with a sequence header and a key frame).
bool segmentsJoin(const std::string& codec) { return muxerFor(codec) != "ivf" || codec == "av1"; }

constexpr size_t kIvfHeaderBytes = 32;
constexpr size_t kIvfFrameCountOffset = 24;

// The md5 column of ffmpeg's framemd5 output ("stream, dts, pts, duration, size, md5").
std::vector<std::string> readFrameMd5(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> md5s;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto comma = line.rfind(',');
    std::string md5 = line.substr(comma == std::string::npos ? 0 : comma + 1);
    md5.erase(0, md5.find_first_not_of(' '));
    md5s.push_back(md5);
  }
  return md5s;
}

std::vector<std::string> readLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// Appends `from` to `to`, without its first `skip` bytes (a later IVF segment's file header).
Status appendFile(const std::string& from, std::ofstream& to, size_t skip) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return makeError(ErrorCode::kBackendFailure, "cannot read {}", from);
  in.seekg(static_cast<std::streamoff>(skip));
  if (!in) return makeError(ErrorCode::kBackendFailure, "{} is shorter than {} bytes", from, skip);
  to << in.rdbuf();
  return okStatus();
}

// Sets the frame count of a joined IVF file's header (the first segment's count until then).
Status setIvfFrameCount(const std::string& path, size_t frames) {
  std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
  file.seekp(kIvfFrameCountOffset);
  for (int i = 0; i < 4; ++i) file.put(static_cast<char>((frames >> (8 * i)) & 0xff));
  if (!file) return makeError(ErrorCode::kBackendFailure, "cannot update {}", path);
  return okStatus();
}

Status runOrFail(const std::vector<std::string>& argv) {
  ToolResult result = runTool(argv);
  if (result.exitCode != 0) {
    return makeError(ErrorCode::kBackendFailure, "`{}` exited {}: {}", join(argv),
                     result.exitCode, result.output);
  }
  return okStatus();
}

}  // namespace

ClipFactory::ClipFactory() {
  if (const char* env = std::getenv("VDEC_CLIP_CACHE_DIR"); env != nullptr && *env != '\0') {
    cacheDir_ = env;
  } else {
    cacheDir_ = VDEC_CLIP_CACHE_DIR;
  }
}

ClipFactory::ClipFactory(std::string cacheDir) : cacheDir_(std::move(cacheDir)) {}

std::vector<std::string> ClipFactory::encodeCommand(const std::string& codec,
                                                    const ClipSegment& segment,
                                                    const std::string& output) {
  std::vector<std::string> argv{"ffmpeg",
                                "-hide_banner",
                                "-loglevel",
                                "error",
                                "-nostdin",
                                "-y",
                                "-f",
                                "lavfi",
                                "-i",
                                "testsrc2=size=" + std::to_string(segment.width) + "x" +
                                    std::to_string(segment.height) + ":rate=25",
                                "-frames:v",
                                std::to_string(segment.frames),
                                "-pix_fmt",
                                "yuv420p"};
  argv.insert(argv.end(), segment.encoderArgs.begin(), segment.encoderArgs.end());
  argv.insert(argv.end(), {"-f", muxerFor(codec), output});
  return argv;
}

// As samples/data/README.txt: libavcodec's own decoder (AV1: libdav1d), one thread, every frame as decoded
// (no frame-rate conversion, no scaling), the visible area as yuv420p.
std::vector<std::string> ClipFactory::referenceCommand(const std::string& codec,
                                                       const std::string& input,
                                                       const std::string& output) {
  return {"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
          "-threads", "1", "-flags", "unaligned", "-c:v", decoderFor(codec), "-i", input,
          "-fps_mode", "passthrough", "-autoscale", "0", "-filter", "format=pix_fmts=yuv420p",
          "-f", "framemd5", output};
}

const std::string& ClipFactory::unavailableReason() {
  static const std::string reason = [] {
    ToolResult result = runTool({"ffmpeg", "-hide_banner", "-encoders"});
    if (result.exitCode != 0) {
      return std::string("the ffmpeg tool is not installed (Debian: apt-get install ffmpeg); "
                         "it makes the generated test clips");
    }
    for (const char* encoder : {" libx264 ", " libx265 ", " libvpx ", " libvpx-vp9 "}) {
      if (result.output.find(encoder) == std::string::npos) {
        return "ffmpeg has no" + std::string(encoder) + "encoder (Debian's ffmpeg has it)";
      }
    }
    return std::string();
  }();
  return reason;
}

std::string ClipFactory::unavailableReason(const std::string& codec) {
  if (!unavailableReason().empty() || codec != "av1") return unavailableReason();
  static const std::string reason = [] {
    ToolResult encoders = runTool({"ffmpeg", "-hide_banner", "-encoders"});
    for (const char* encoder : {" libaom-av1 ", " libsvtav1 "}) {
      if (encoders.output.find(encoder) == std::string::npos) {
        return "ffmpeg has no" + std::string(encoder) + "encoder (Debian's ffmpeg has it)";
      }
    }
    ToolResult decoders = runTool({"ffmpeg", "-hide_banner", "-decoders"});
    if (decoders.output.find(" libdav1d ") == std::string::npos) {
      return std::string("ffmpeg has no libdav1d decoder (Debian's ffmpeg has it)");
    }
    return std::string();
  }();
  return reason;
}

Result<GeneratedClip> ClipFactory::generate(const ClipSpec& spec) const {
  if (spec.segments.empty() || (spec.segments.size() > 1 && !segmentsJoin(spec.codec))) {
    return makeError(ErrorCode::kInvalidParameter, "clip {}: bad segment list", spec.name);
  }
  std::string key = spec.codec;
  for (const auto& segment : spec.segments) key += "|" + join(encodeCommand(spec.codec, segment, "OUT"));
  key += "|" + join(referenceCommand(spec.codec, "IN", "OUT"));
  char hash[17];
  std::snprintf(hash, sizeof(hash), "%016llx", static_cast<unsigned long long>(fnv1a(key)));

  GeneratedClip clip;
  const std::string stem = cacheDir_ + "/" + spec.name + "-" + hash;
  clip.path = stem + extensionFor(spec.codec);
  const std::string md5Path = stem + ".md5";
  if (fs::exists(clip.path) && fs::exists(md5Path)) {
    clip.frameMd5s = readLines(md5Path);
    if (!clip.frameMd5s.empty()) return clip;
  }

  std::error_code error;
  fs::create_directories(cacheDir_, error);
  if (error) {
    return makeError(ErrorCode::kBackendFailure, "cannot create {}: {}", cacheDir_,
                     error.message());
  }
  // Scratch names unique to this process; renamed into place when complete. The clip is renamed
  // before its md5 list, and readers require both.
  const std::string scratch = stem + ".tmp" + std::to_string(::getpid());
  std::vector<std::string> md5s;
  std::ofstream joined(scratch + extensionFor(spec.codec), std::ios::binary | std::ios::trunc);
  Status status = okStatus();
  for (size_t i = 0; i < spec.segments.size() && status; ++i) {
    const std::string piece = scratch + "-" + std::to_string(i) + extensionFor(spec.codec);
    const std::string pieceMd5 = piece + ".framemd5";
    status = runOrFail(encodeCommand(spec.codec, spec.segments[i], piece));
    if (status) status = runOrFail(referenceCommand(spec.codec, piece, pieceMd5));
    if (status) {
      const bool laterIvf = i > 0 && muxerFor(spec.codec) == "ivf";
      status = appendFile(piece, joined, laterIvf ? kIvfHeaderBytes : 0);
    }
    if (status) {
      auto frames = readFrameMd5(pieceMd5);
      if (frames.size() != spec.segments[i].frames) {
        status = makeError(ErrorCode::kBackendFailure, "clip {}: ffmpeg decoded {} frames of {}",
                           spec.name, frames.size(), spec.segments[i].frames);
      }
      md5s.insert(md5s.end(), frames.begin(), frames.end());
    }
    fs::remove(piece, error);
    fs::remove(pieceMd5, error);
  }
  joined.close();
  if (status && spec.segments.size() > 1 && muxerFor(spec.codec) == "ivf") {
    status = setIvfFrameCount(scratch + extensionFor(spec.codec), md5s.size());
  }
  if (status) {
    std::ofstream out(scratch + ".md5", std::ios::trunc);
    for (const auto& md5 : md5s) out << md5 << "\n";
    out.close();
    if (!out) status = makeError(ErrorCode::kBackendFailure, "cannot write {}.md5", scratch);
  }
  if (status) {
    fs::rename(scratch + extensionFor(spec.codec), clip.path, error);
    if (!error) fs::rename(scratch + ".md5", md5Path, error);
    if (error) status = makeError(ErrorCode::kBackendFailure, "rename: {}", error.message());
  }
  fs::remove(scratch + extensionFor(spec.codec), error);
  fs::remove(scratch + ".md5", error);
  if (!status) return makeError(status.error());
  clip.frameMd5s = std::move(md5s);
  return clip;
}

const std::vector<ClipSpec>& standardClips() {
  using Args = std::vector<std::string>;
  const Args x264{"-c:v", "libx264"};
  const Args aom{"-c:v", "libaom-av1", "-cpu-used", "8"};
  const auto with = [](Args base, const Args& more) {
    base.insert(base.end(), more.begin(), more.end());
    return base;
  };
  static const std::vector<ClipSpec> clips{
      {"h264_baseline_66x34", "h264",
       {{66, 34, 10, with(x264, {"-profile:v", "baseline"})}},
       "odd macroblock count, crop 66x34 of 80x48"},
      {"h264_tiny_16x16", "h264", {{16, 16, 8, with(x264, {"-profile:v", "main"})}},
       "one macroblock"},
      {"h264_high_bpyramid_176x144", "h264",
       {{176, 144, 30,
         with(x264, {"-profile:v", "high", "-bf", "3", "-x264-params",
                     "b-adapt=0:b-pyramid=normal:ref=4"})}},
       "3 B-frames with a B-pyramid: deep reordering"},
      {"h264_interlaced_tff_128x96", "h264",
       {{128, 96, 20,
         with(x264, {"-profile:v", "high", "-flags", "+ildct+ilme", "-x264-params",
                     "interlaced=1:tff=1", "-bf", "2"})}},
       "field coding (MBAFF, top field first)"},
      {"h264_resolution_change_96x64_to_66x34", "h264",
       {{96, 64, 8, with(x264, {"-profile:v", "main"})},
        {66, 34, 8, with(x264, {"-profile:v", "main"})}},
       "two Annex-B streams of different sizes back to back"},
      {"h264_crop_left_top_176x144", "h264",
       {{176, 144, 12,
         with(x264, {"-profile:v", "high", "-bf", "2", "-x264-params", "slices=4", "-bsf:v",
                     "h264_metadata=crop_left=16:crop_top=8:crop_right=2:crop_bottom=2"})}},
       "crop from every side (158x134 at 16,8), 4 slices per picture"},
      {"hevc_main_66x34", "hevc",
       {{66, 34, 10, {"-c:v", "libx265", "-x265-params", "log-level=error"}}},
       "crop that is not a multiple of 8 or 16"},
      {"hevc_bframes_176x144", "hevc",
       {{176, 144, 24,
         {"-c:v", "libx265", "-x265-params", "log-level=error:bframes=4:b-pyramid=1:ref=4"}}},
       "B-frames with a pyramid"},
      {"hevc_crop_left_top_176x144", "hevc",
       {{176, 144, 12,
         {"-c:v", "libx265", "-x265-params", "log-level=error:slices=2", "-bsf:v",
          "hevc_metadata=crop_left=16:crop_top=8:crop_right=2:crop_bottom=2"}}},
       "conformance window on every side (158x134 at 16,8), 2 slices per picture"},
      {"vp8_66x34_altref", "vp8",
       {{66, 34, 20, {"-c:v", "libvpx", "-auto-alt-ref", "1", "-lag-in-frames", "10", "-g", "30"}}},
       "odd size and hidden alt-ref frames"},
      {"vp9_66x34_altref", "vp9",
       {{66, 34, 20,
         {"-c:v", "libvpx-vp9", "-auto-alt-ref", "1", "-lag-in-frames", "10", "-g", "30",
          "-deadline", "good", "-cpu-used", "8"}}},
       "odd size and hidden alt-ref frames (superframes)"},
      {"vp9_tiny_16x16", "vp9",
       {{16, 16, 8, {"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"}}},
       "smallest frame"},
      {"av1_aom_66x34", "av1", {{66, 34, 20, aom}},
       "odd size (AV1 codes it exactly), hidden frames shown by show_existing_frame"},
      {"av1_svt_320x180", "av1", {{320, 180, 20, {"-c:v", "libsvtav1", "-preset", "12"}}},
       "SVT-AV1 random access: mini-GOP reordering, show_existing_frame"},
      {"av1_resolution_change_96x64_to_66x34", "av1", {{96, 64, 8, aom}, {66, 34, 8, aom}},
       "a new sequence header and key frame of another size mid-stream"},
  };
  return clips;
}

const ClipSpec& standardClip(const std::string& name) {
  for (const auto& clip : standardClips()) {
    if (clip.name == name) return clip;
  }
  throw std::out_of_range("no standard clip " + name);
}

}  // namespace vdec::testing
