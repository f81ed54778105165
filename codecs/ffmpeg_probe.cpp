// SPDX-License-Identifier: MIT
#include "codecs/ffmpeg_probe.h"

#include <cstring>

#include "codecs/probe_cut.h"

namespace vdec::codecs {

std::unique_ptr<FfmpegProbe> FfmpegProbe::create(AVCodecID codec, Input input) {
  const AVCodec* decoder = findSoftwareDecoder(codec);
  if (decoder == nullptr) return nullptr;
  AvCodecContextPtr context(avcodec_alloc_context3(decoder));
  if (!context) return nullptr;
  // No frame threads: a picture comes out as soon as it is decoded (or at the drain).
  context->thread_count = 1;
  context->apply_cropping = 0;       // the same geometry the session's decoder reports
  followStreamReordering(*context);  // the same reordering delay as the session's decoder
  // The slices it is given are cut short (feed()): their errors are expected, not worth
  // concealing, and not the stream's. They are logged at debug level, below the error level
  // at which DecodeErrorLog counts them against the stream's pictures.
  context->error_concealment = 0;
  context->log_level_offset = AV_LOG_DEBUG - AV_LOG_ERROR;
  if (avcodec_open2(context.get(), decoder, nullptr) < 0) return nullptr;
  std::unique_ptr<FfmpegProbe> probe(new FfmpegProbe(std::move(context), input));
  probe->frame_.reset(av_frame_alloc());
  if (!probe->frame_) return nullptr;
  return probe;
}

// A copy of the first `probeCut` bytes of `whole` with zeroed padding (libavcodec's
// bitstream readers require it), or null when the whole packet is to be fed.
AvPacketPtr FfmpegProbe::headOf(const AVPacket& whole) const {
  if (input_ != Input::kHeads || whole.data == nullptr || whole.size <= 0) return nullptr;
  const std::optional<size_t> keep =
      probeCut(context_->codec_id, {whole.data, static_cast<size_t>(whole.size)});
  if (!keep) return nullptr;
  AvPacketPtr cut(av_packet_alloc());
  if (!cut || av_new_packet(cut.get(), static_cast<int>(*keep)) < 0 ||
      av_packet_copy_props(cut.get(), &whole) < 0) {
    return nullptr;
  }
  std::memcpy(cut->data, whole.data, *keep);
  return cut;
}

std::optional<ProbedFormat> FfmpegProbe::feed(const AVPacket& whole) {
  undrained_ = true;
  // H.264, HEVC, VP9: the headers say everything the format needs (probe_cut.h); the rest of
  // the picture is not decoded.
  AvPacketPtr cut = headOf(whole);
  const AVPacket& packet = cut ? *cut : whole;
  if (avcodec_send_packet(context_.get(), &packet) == AVERROR(EAGAIN)) {
    if (auto format = receive()) return format;
    // Corrupt input is skipped: the probe only looks for the first good picture.
    if (avcodec_send_packet(context_.get(), &packet) < 0) return std::nullopt;
  }
  if (auto format = receive()) return format;
  // VP9: a cut frame gives no picture, but its header set the size and pixel format, which is
  // all of a VP9 picture's geometry (no crop; the reordering delay is 0).
  if (cut && context_->codec_id == AV_CODEC_ID_VP9 && context_->width > 0 && context_->height > 0 &&
      context_->pix_fmt != AV_PIX_FMT_NONE) {
    FrameGeometry geometry;
    geometry.codedWidth = static_cast<uint32_t>(context_->width);
    geometry.codedHeight = static_cast<uint32_t>(context_->height);
    geometry.pixelFormat = context_->pix_fmt;
    geometry.visible = {0, 0, geometry.codedWidth, geometry.codedHeight};
    undrained_ = false;
    return ProbedFormat{geometry, context_->refs, context_->has_b_frames};
  }
  // A picture was decoded (the decoder set the stream's format while decoding a slice or frame
  // header) but is held back for reordering: drain once to get it out now rather than decode
  // the pictures of the reordering delay single-threaded first. refs and has_b_frames are
  // final once the first picture was decoded (H.264 in strict mode and HEVC take the delay
  // from the SPS). A drain that gives nothing (a picture before a recovery point) is not
  // repeated: from then on the probe waits for a picture to come out, as without it.
  if (!earlyDrainDone_ && context_->pix_fmt != AV_PIX_FMT_NONE && context_->width > 0) {
    earlyDrainDone_ = true;
    return drain();
  }
  return std::nullopt;
}

std::optional<ProbedFormat> FfmpegProbe::drain() {
  undrained_ = false;
  avcodec_send_packet(context_.get(), nullptr);
  std::optional<ProbedFormat> format = receive();
  avcodec_flush_buffers(context_.get());
  return format;
}

void FfmpegProbe::flush() {
  undrained_ = false;
  avcodec_flush_buffers(context_.get());
}

std::optional<ProbedFormat> FfmpegProbe::receive() {
  // A damaged frame is an error of its own; a bounded number of them are skipped.
  for (int attempt = 0; attempt < 16; ++attempt) {
    const int ret = avcodec_receive_frame(context_.get(), frame_.get());
    if (ret == 0) {
      ProbedFormat format{frameGeometry(*frame_), context_->refs, context_->has_b_frames};
      av_frame_unref(frame_.get());
      return format;
    }
    // EAGAIN / EOF: nothing (more) for now. Other errors: a damaged frame, try the next one.
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace vdec::codecs
