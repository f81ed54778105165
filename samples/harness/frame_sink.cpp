// SPDX-License-Identifier: MIT
// FrameSink: where decoded frames go: raw dump, per-frame md5 list, whole-output md5, PNG.
#include "samples/harness/frame_sink.h"

#include <cerrno>
#include <cstring>

#include "samples/harness/png_writer.h"

namespace vdec::harness {

Result<FrameSink> FrameSink::create(const FrameSinkOptions& options) {
  FrameSink sink(options);
  auto open = [](const std::string& path, const char* what) -> Result<File> {
    File file(std::fopen(path.c_str(), "wb"));
    if (!file)
      return makeError(ErrorCode::kBackendFailure, "cannot create {} file {}: {}", what, path,
                       std::strerror(errno));
    return file;
  };
  if (!options.rawOutPath.empty()) {
    VDEC_ASSIGN_OR_RETURN(sink.raw_, open(options.rawOutPath, "raw output"));
  }
  if (!options.framesMd5Path.empty()) {
    VDEC_ASSIGN_OR_RETURN(sink.md5File_, open(options.framesMd5Path, "frame md5"));
  }
  return sink;
}

Status FrameSink::consume(std::span<const std::byte> resource, const buffers::FrameLayout& layout) {
  VDEC_TRY(packVisibleFrame(resource, layout, options_.dumpFormat, scratch_));
  std::span<const std::byte> bytes(scratch_.bytes);
  whole_.update(bytes);
  std::string md5 = Md5Hasher::of(bytes);
  if (md5File_ && std::fprintf(md5File_.get(), "%s\n", md5.c_str()) < 0)
    return makeError(ErrorCode::kBackendFailure, "cannot write {}", options_.framesMd5Path);
  if (raw_ && std::fwrite(bytes.data(), 1, bytes.size(), raw_.get()) != bytes.size())
    return makeError(ErrorCode::kBackendFailure, "cannot write {}", options_.rawOutPath);
  if (!options_.pngPath.empty() && frameMd5s_.size() == options_.pngFrame) pngFrame_ = scratch_;
  frameMd5s_.push_back(std::move(md5));
  lastWidth_ = scratch_.width;
  lastHeight_ = scratch_.height;
  return okStatus();
}

Status FrameSink::finish() {
  if (raw_ && std::fflush(raw_.get()) != 0)
    return makeError(ErrorCode::kBackendFailure, "cannot write {}", options_.rawOutPath);
  if (md5File_ && std::fflush(md5File_.get()) != 0)
    return makeError(ErrorCode::kBackendFailure, "cannot write {}", options_.framesMd5Path);
  if (options_.pngPath.empty()) return okStatus();
  if (!pngFrame_)
    return makeError(ErrorCode::kInvalidParameter, "no frame {} for the PNG snapshot ({} decoded)",
                     options_.pngFrame, frameMd5s_.size());
  return writePng(*pngFrame_, options_.pngPath);
}

}  // namespace vdec::harness
