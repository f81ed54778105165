// SPDX-License-Identifier: MIT
// BitstreamReader: the input units a guest feeds: raw Annex-B cut into byte chunks, or one
// compressed frame per unit demuxed from a container (IVF, WebM/Matroska, MP4) by libavformat;
// AV1 (IVF 'AV01', raw low-overhead .obu) one temporal unit per unit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codecs/coded_format.h"
#include "vdec/base/result.h"

namespace vdec::harness {

struct BitstreamOptions {
  // Forces the codec of a raw stream; for a container it must match what the container says.
  std::optional<codecs::CodedFormat> codec;
  // Raw Annex-B only: chunk size in bytes, 0 = the whole file in one unit. Unset: the whole
  // file when it is at most kWholeFileLimit, else chunks of kDefaultChunkBytes.
  std::optional<uint64_t> chunkBytes;
};

struct BitstreamUnit {
  std::vector<std::byte> data;
  uint64_t timestamp = 0;  // nanoseconds, as the guest sends them; the device echoes them
};

// Loads the whole input at open(). Threads: any, one at a time.
class BitstreamReader {
 public:
  static constexpr uint64_t kWholeFileLimit = 4ull << 20;
  static constexpr uint64_t kDefaultChunkBytes = 1ull << 20;

  static Result<BitstreamReader> open(const std::string& path, const BitstreamOptions& options);

  codecs::CodedFormat codec() const { return codec_; }
  // True for a byte stream cut anywhere (Annex-B), false for one frame per unit.
  bool isByteStream() const { return byteStream_; }
  // What was done to the input, e.g. "Annex-B, 8 chunks of 1048576 bytes" or "ivf demuxer".
  const std::string& description() const { return description_; }
  const std::vector<BitstreamUnit>& units() const { return units_; }
  size_t maxUnitSize() const;
  uint64_t totalBytes() const;
  // What a client that fills buffers of `bufferBytes` queues, as v4l2-ctl does: a byte stream
  // cut into pieces of exactly `bufferBytes`, the last one short (--stream-from); frame units
  // unchanged, one per buffer (--stream-from-hdr). Fails if a frame does not fit a buffer.
  Result<std::vector<BitstreamUnit>> unitsForBuffers(uint64_t bufferBytes) const;

  // Timestamp of unit `index`: a multiple of 1000 ns like the real guest's, never zero.
  static uint64_t timestampOf(size_t index) { return 1'000'000'000ull + index * 1000ull; }

  // Codec implied by a raw-stream file extension (.264, .h265, ...), if any.
  static std::optional<codecs::CodedFormat> codecFromExtension(const std::string& path);
  // Cuts `bytes` into chunks of `chunkBytes` (0 = one unit), with timestamps.
  static std::vector<BitstreamUnit> chunk(const std::vector<std::byte>& bytes, uint64_t chunkBytes);

 private:
  BitstreamReader() = default;
  static Result<BitstreamReader> openRaw(const std::string& path, codecs::CodedFormat codec,
                                         const BitstreamOptions& options);
  static Result<BitstreamReader> openContainer(const std::string& path,
                                               const BitstreamOptions& options);

  codecs::CodedFormat codec_ = codecs::CodedFormat::kH264;
  bool byteStream_ = false;
  std::string description_;
  std::vector<BitstreamUnit> units_;
};

}  // namespace vdec::harness
