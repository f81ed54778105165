// SPDX-License-Identifier: MIT
// FrameSink: where decoded frames go: raw dump, per-frame md5 list, whole-output md5, PNG.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "buffers/frame_layout.h"
#include "samples/harness/frame_converter.h"
#include "samples/harness/md5_hasher.h"
#include "vdec/base/result.h"

namespace vdec::harness {

struct FrameSinkOptions {
  DumpFormat dumpFormat = DumpFormat::kYuv420p;
  std::string rawOutPath;     // empty: no raw dump
  std::string framesMd5Path;  // empty: no md5 file (per-frame md5s are kept in memory anyway)
  std::string pngPath;        // empty: no PNG
  uint64_t pngFrame = 0;      // index of the decoded frame to snapshot
};

// Consumes decoded frames in output order. Every frame is cropped to its visible area and
// repacked in the dump format; its md5 is recorded and fed to the whole-output md5.
// Owns the output files. Threads: one owner thread.
class FrameSink {
 public:
  static Result<FrameSink> create(const FrameSinkOptions& options);
  FrameSink(FrameSink&&) noexcept = default;
  FrameSink& operator=(FrameSink&&) noexcept = default;
  ~FrameSink() = default;

  // `resource` holds the output resource's bytes from offset 0, laid out as `layout` says.
  Status consume(std::span<const std::byte> resource, const buffers::FrameLayout& layout);
  // Flushes the files and writes the PNG. Fails if the PNG frame was asked for but never seen.
  Status finish();

  uint64_t frames() const { return frameMd5s_.size(); }
  const std::vector<std::string>& frameMd5s() const { return frameMd5s_; }
  std::string wholeMd5() const { return whole_.hexDigest(); }
  DumpFormat dumpFormat() const { return options_.dumpFormat; }
  // Visible size of the last frame (0x0 before the first).
  uint32_t lastWidth() const { return lastWidth_; }
  uint32_t lastHeight() const { return lastHeight_; }

 private:
  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  using File = std::unique_ptr<std::FILE, FileCloser>;

  explicit FrameSink(const FrameSinkOptions& options) : options_(options) {}

  FrameSinkOptions options_;
  File raw_;
  File md5File_;
  Md5Hasher whole_;
  std::vector<std::string> frameMd5s_;
  PackedFrame scratch_;
  std::optional<PackedFrame> pngFrame_;
  uint32_t lastWidth_ = 0;
  uint32_t lastHeight_ = 0;
};

}  // namespace vdec::harness
