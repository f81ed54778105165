// SPDX-License-Identifier: MIT
// FfmpegProbe: a throwaway single-threaded decoder that finds the first picture's format while
// the frame-threaded decoder still holds its first frames back. For H.264, HEVC and VP9 it
// decodes only the headers of each access unit (probe_cut.h).
#pragma once

#include <memory>
#include <optional>

#include "codecs/av_ptr.h"
#include "codecs/decoder_engine.h"
#include "codecs/ffmpeg_format.h"

namespace vdec::codecs {

// Decoding-thread only. Frames it decodes are dropped at once: only their geometry is kept.
class FfmpegProbe {
 public:
  // What feed() decodes of an H.264/HEVC/VP9 access unit (VP8, AV1: always all of it).
  enum class Input { kHeads, kWholePictures };
  // Null if libavcodec cannot open a second decoder for `codec`. kWholePictures is for tests
  // that hold the heads against whole pictures.
  static std::unique_ptr<FfmpegProbe> create(AVCodecID codec, Input input = Input::kHeads);

  // Decodes one packet (the caller keeps it; H.264/HEVC/VP9: its head); returns the format
  // once a picture came out: the first decoded picture, drained out at once (not after the
  // reordering delay).
  std::optional<ProbedFormat> feed(const AVPacket& packet);
  // The input ran dry: drains what was fed (send NULL), then flushes so that more can be fed.
  std::optional<ProbedFormat> drain();
  // True when packets were fed since the last drain.
  bool hasUndrainedInput() const { return undrained_; }
  // Drops everything fed so far.
  void flush();

 private:
  FfmpegProbe(AvCodecContextPtr context, Input input)
      : context_(std::move(context)), input_(input) {}
  std::optional<ProbedFormat> receive();
  AvPacketPtr headOf(const AVPacket& whole) const;

  AvCodecContextPtr context_;
  Input input_;
  AvFramePtr frame_;
  bool undrained_ = false;
  bool earlyDrainDone_ = false;  // feed() drained out the first decoded picture (once)
};

}  // namespace vdec::codecs
