// SPDX-License-Identifier: MIT
// BitstreamReader: the input units a guest feeds: raw Annex-B cut into byte chunks, or one
// compressed frame per unit demuxed from a container (IVF, WebM/Matroska, MP4) by libavformat.
#include "samples/harness/bitstream_reader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string_view>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
}

#include "vdec/base/logging.h"

namespace vdec::harness {

namespace {

using codecs::CodedFormat;

struct InputCloser {
  void operator()(AVFormatContext* context) const { avformat_close_input(&context); }
};
struct PacketDeleter {
  void operator()(AVPacket* packet) const { av_packet_free(&packet); }
};
struct BsfDeleter {
  void operator()(AVBSFContext* context) const { av_bsf_free(&context); }
};

std::string averror(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof(text));
  return text;
}

std::optional<CodedFormat> codecFromId(AVCodecID id) {
  switch (id) {
    case AV_CODEC_ID_H264:
      return CodedFormat::kH264;
    case AV_CODEC_ID_HEVC:
      return CodedFormat::kHevc;
    case AV_CODEC_ID_VP8:
      return CodedFormat::kVp8;
    case AV_CODEC_ID_VP9:
      return CodedFormat::kVp9;
    case AV_CODEC_ID_AV1:
      return CodedFormat::kAv1;
    default:
      return std::nullopt;
  }
}

bool isAnnexBCodec(CodedFormat codec) {
  return codec == CodedFormat::kH264 || codec == CodedFormat::kHevc;
}

Result<std::vector<std::byte>> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return makeError(ErrorCode::kInvalidParameter, "cannot open {}: {}", path,
                     std::strerror(errno));
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return makeError(ErrorCode::kBackendFailure, "cannot read {}", path);
  std::vector<std::byte> bytes(chars.size());
  std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

}  // namespace

std::optional<CodedFormat> BitstreamReader::codecFromExtension(const std::string& path) {
  auto dot = path.find_last_of('.');
  if (dot == std::string::npos || path.find('/', dot) != std::string::npos) return std::nullopt;
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::string_view e : {"264", "h264", "jsv", "avc", "26l", "jvt"})
    if (ext == e) return CodedFormat::kH264;
  for (std::string_view e : {"265", "h265", "hevc", "bit"})
    if (ext == e) return CodedFormat::kHevc;
  return std::nullopt;
}

std::vector<BitstreamUnit> BitstreamReader::chunk(const std::vector<std::byte>& bytes,
                                                  uint64_t chunkBytes) {
  std::vector<BitstreamUnit> units;
  const uint64_t step = chunkBytes == 0 ? std::max<uint64_t>(bytes.size(), 1) : chunkBytes;
  for (uint64_t offset = 0; offset < bytes.size(); offset += step) {
    uint64_t n = std::min<uint64_t>(step, bytes.size() - offset);
    BitstreamUnit unit;
    unit.data.assign(bytes.begin() + static_cast<ptrdiff_t>(offset),
                     bytes.begin() + static_cast<ptrdiff_t>(offset + n));
    unit.timestamp = timestampOf(units.size());
    units.push_back(std::move(unit));
  }
  return units;
}

size_t BitstreamReader::maxUnitSize() const {
  size_t size = 0;
  for (const BitstreamUnit& unit : units_) size = std::max(size, unit.data.size());
  return size;
}

uint64_t BitstreamReader::totalBytes() const {
  uint64_t total = 0;
  for (const BitstreamUnit& unit : units_) total += unit.data.size();
  return total;
}

Result<std::vector<BitstreamUnit>> BitstreamReader::unitsForBuffers(uint64_t bufferBytes) const {
  if (bufferBytes == 0) return makeError(ErrorCode::kInvalidParameter, "buffers of 0 bytes");
  if (!byteStream_) {
    for (size_t i = 0; i < units_.size(); ++i)
      if (units_[i].data.size() > bufferBytes)
        return makeError(ErrorCode::kInvalidParameter,
                         "frame {} ({} bytes) exceeds a {}-byte buffer", i, units_[i].data.size(),
                         bufferBytes);
    return units_;
  }
  std::vector<std::byte> bytes;
  bytes.reserve(totalBytes());
  for (const BitstreamUnit& unit : units_)
    bytes.insert(bytes.end(), unit.data.begin(), unit.data.end());
  return chunk(bytes, bufferBytes);
}

Result<BitstreamReader> BitstreamReader::open(const std::string& path,
                                              const BitstreamOptions& options) {
  if (auto codec = codecFromExtension(path)) {
    if (options.codec && *options.codec != *codec && !isAnnexBCodec(*options.codec))
      return makeError(ErrorCode::kInvalidParameter, "{} looks like a raw {} stream, not {}", path,
                       codecs::codedFormatName(*codec), codecs::codedFormatName(*options.codec));
    return openRaw(path, options.codec.value_or(*codec), options);
  }
  return openContainer(path, options);
}

Result<BitstreamReader> BitstreamReader::openRaw(const std::string& path, CodedFormat codec,
                                                 const BitstreamOptions& options) {
  VDEC_ASSIGN_OR_RETURN(std::vector<std::byte> bytes, readFile(path));
  if (bytes.empty()) return makeError(ErrorCode::kInvalidParameter, "{} is empty", path);
  uint64_t chunkBytes =
      options.chunkBytes.value_or(bytes.size() <= kWholeFileLimit ? 0 : kDefaultChunkBytes);
  BitstreamReader reader;
  reader.codec_ = codec;
  reader.byteStream_ = true;
  reader.units_ = chunk(bytes, chunkBytes);
  reader.description_ =
      chunkBytes == 0
          ? fmt::format("Annex-B, whole file ({} bytes)", bytes.size())
          : fmt::format("Annex-B, {} chunks of {} bytes", reader.units_.size(), chunkBytes);
  return reader;
}

Result<BitstreamReader> BitstreamReader::openContainer(const std::string& path,
                                                       const BitstreamOptions& options) {
  AVFormatContext* raw = nullptr;
  if (int ret = avformat_open_input(&raw, path.c_str(), nullptr, nullptr); ret < 0) {
    if (options.codec && isAnnexBCodec(*options.codec))
      return openRaw(path, *options.codec, options);
    return makeError(ErrorCode::kInvalidParameter, "cannot open {}: {}", path, averror(ret));
  }
  std::unique_ptr<AVFormatContext, InputCloser> input(raw);
  if (int ret = avformat_find_stream_info(input.get(), nullptr); ret < 0)
    return makeError(ErrorCode::kInvalidParameter, "{}: no stream info: {}", path, averror(ret));
  int streamIndex = av_find_best_stream(input.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (streamIndex < 0)
    return makeError(ErrorCode::kInvalidParameter, "{} has no video stream", path);
  AVStream* stream = input->streams[streamIndex];
  auto codec = codecFromId(stream->codecpar->codec_id);
  if (!codec)
    return makeError(ErrorCode::kUnsupported, "{}: codec {} is not h264/hevc/vp8/vp9/av1", path,
                     avcodec_get_name(stream->codecpar->codec_id));
  if (options.codec && *options.codec != *codec)
    return makeError(ErrorCode::kInvalidParameter, "{} holds {}, not {}", path,
                     codecs::codedFormatName(*codec), codecs::codedFormatName(*options.codec));
  std::string_view demuxer = input->iformat->name;
  // A raw Annex-B file under an unknown extension: a guest may cut it anywhere, so chunk it.
  if (demuxer == "h264" || demuxer == "hevc") {
    input.reset();
    return openRaw(path, *codec, options);
  }

  // H.264/HEVC in MP4/Matroska are length-prefixed: the device speaks Annex-B.
  std::unique_ptr<AVBSFContext, BsfDeleter> bsf;
  if (isAnnexBCodec(*codec)) {
    const char* name = *codec == CodedFormat::kH264 ? "h264_mp4toannexb" : "hevc_mp4toannexb";
    const AVBitStreamFilter* filter = av_bsf_get_by_name(name);
    AVBSFContext* context = nullptr;
    if (!filter || av_bsf_alloc(filter, &context) < 0)
      return makeError(ErrorCode::kBackendFailure, "no {} bitstream filter", name);
    bsf.reset(context);
    if (int ret = avcodec_parameters_copy(bsf->par_in, stream->codecpar); ret < 0)
      return makeError(ErrorCode::kBackendFailure, "{}: {}", name, averror(ret));
    bsf->time_base_in = stream->time_base;
    if (int ret = av_bsf_init(bsf.get()); ret < 0)
      return makeError(ErrorCode::kBackendFailure, "{} init: {}", name, averror(ret));
  }

  BitstreamReader reader;
  reader.codec_ = *codec;
  reader.byteStream_ = false;
  // AV1 (IVF, the obu demuxer of a raw low-overhead .obu file, Matroska, MP4): each packet is
  // one temporal unit in the low-overhead OBU format, what the device takes per buffer.
  reader.description_ = fmt::format("{} demuxer, one {} per buffer", demuxer,
                                    *codec == CodedFormat::kAv1 ? "temporal unit" : "frame");
  std::unique_ptr<AVPacket, PacketDeleter> packet(av_packet_alloc());
  if (!packet) return makeError(ErrorCode::kOutOfMemory, "av_packet_alloc failed");
  auto take = [&reader](const AVPacket& p) {
    if (p.size <= 0) return;
    BitstreamUnit unit;
    unit.data.resize(static_cast<size_t>(p.size));
    std::memcpy(unit.data.data(), p.data, unit.data.size());
    unit.timestamp = timestampOf(reader.units_.size());
    reader.units_.push_back(std::move(unit));
  };
  auto drainBsf = [&]() -> Status {
    for (;;) {
      int ret = av_bsf_receive_packet(bsf.get(), packet.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return okStatus();
      if (ret < 0)
        return makeError(ErrorCode::kInvalidParameter, "{}: bitstream filter: {}", path,
                         averror(ret));
      take(*packet);
      av_packet_unref(packet.get());
    }
  };
  for (;;) {
    int ret = av_read_frame(input.get(), packet.get());
    if (ret == AVERROR_EOF) break;
    if (ret < 0)
      return makeError(ErrorCode::kInvalidParameter, "{}: demux error: {}", path, averror(ret));
    if (packet->stream_index != streamIndex) {
      av_packet_unref(packet.get());
      continue;
    }
    if (bsf) {
      if (int sent = av_bsf_send_packet(bsf.get(), packet.get()); sent < 0)
        return makeError(ErrorCode::kInvalidParameter, "{}: bitstream filter: {}", path,
                         averror(sent));
      VDEC_TRY(drainBsf());
    } else {
      take(*packet);
      av_packet_unref(packet.get());
    }
  }
  if (bsf) {
    if (int sent = av_bsf_send_packet(bsf.get(), nullptr); sent < 0)
      return makeError(ErrorCode::kInvalidParameter, "{}: bitstream filter flush: {}", path,
                       averror(sent));
    VDEC_TRY(drainBsf());
  }
  if (reader.units_.empty())
    return makeError(ErrorCode::kInvalidParameter, "{} has no video packets", path);
  logs::harness().debug("{}: {} {} units", path, reader.units_.size(), reader.description_);
  return reader;
}

}  // namespace vdec::harness
