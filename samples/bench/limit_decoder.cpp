// SPDX-License-Identifier: MIT
#include "samples/bench/limit_decoder.h"

#include <chrono>
#include <thread>

#include "codecs/av_ptr.h"
#include "codecs/ffmpeg_format.h"

namespace vdec::bench {

namespace {

// Sends `packet` (null: drain) and drops every frame that comes out; counts them.
Status sendAndReceive(AVCodecContext* context, const AVPacket* packet, AVFrame* frame,
                      uint64_t& frames, std::chrono::steady_clock::time_point& firstFrameAt) {
  int sent = avcodec_send_packet(context, packet);
  while (true) {
    const int received = avcodec_receive_frame(context, frame);
    if (received == AVERROR(EAGAIN) || received == AVERROR_EOF) break;
    if (received < 0)
      return makeError(ErrorCode::kBackendFailure, "avcodec_receive_frame: {}",
                       codecs::avErrorString(received));
    if (frames++ == 0) firstFrameAt = std::chrono::steady_clock::now();
    av_frame_unref(frame);
  }
  // EAGAIN: the decoder wanted its output read first, which the loop above just did.
  if (sent == AVERROR(EAGAIN))
    return sendAndReceive(context, packet, frame, frames, firstFrameAt);
  if (sent < 0 && sent != AVERROR_EOF && sent != AVERROR_INVALIDDATA)
    return makeError(ErrorCode::kBackendFailure, "avcodec_send_packet: {}",
                     codecs::avErrorString(sent));
  return okStatus();
}

}  // namespace

Result<LimitRun> decodeLimit(const harness::BitstreamReader& input, int threads) {
  const auto start = std::chrono::steady_clock::now();
  const AVCodec* codec = codecs::findSoftwareDecoder(codecs::avCodecId(input.codec()));
  if (codec == nullptr) return makeError(ErrorCode::kUnsupported, "no libavcodec decoder");
  codecs::AvCodecContextPtr context(avcodec_alloc_context3(codec));
  if (!context) return makeError(ErrorCode::kOutOfMemory, "avcodec_alloc_context3() failed");
  context->thread_count = threads;
  context->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  context->apply_cropping = 0;
  if (int ret = avcodec_open2(context.get(), codec, nullptr); ret < 0)
    return makeError(ErrorCode::kBackendFailure, "avcodec_open2: {}", codecs::avErrorString(ret));
  codecs::AvParserPtr parser;
  if (input.codec() != codecs::CodedFormat::kVp8)
    parser.reset(av_parser_init(codecs::avCodecId(input.codec())));
  codecs::AvPacketPtr packet(av_packet_alloc());
  codecs::AvFramePtr frame(av_frame_alloc());
  if (!packet || !frame) return makeError(ErrorCode::kOutOfMemory, "av_*_alloc() failed");

  LimitRun run;
  std::chrono::steady_clock::time_point firstFrameAt;
  std::vector<uint8_t> padded;
  auto decodeBytes = [&](const uint8_t* data, size_t size) -> Status {
    packet->data = const_cast<uint8_t*>(data);
    packet->size = static_cast<int>(size);
    return sendAndReceive(context.get(), packet.get(), frame.get(), run.frames, firstFrameAt);
  };
  for (const harness::BitstreamUnit& unit : input.units()) {
    // libavcodec may read AV_INPUT_BUFFER_PADDING_SIZE past the end of its input.
    padded.assign(reinterpret_cast<const uint8_t*>(unit.data.data()),
                  reinterpret_cast<const uint8_t*>(unit.data.data()) + unit.data.size());
    padded.resize(unit.data.size() + AV_INPUT_BUFFER_PADDING_SIZE, 0);
    if (!parser) {
      VDEC_TRY(decodeBytes(padded.data(), unit.data.size()));
      continue;
    }
    const uint8_t* data = padded.data();
    int left = static_cast<int>(unit.data.size());
    while (left > 0) {
      uint8_t* out = nullptr;
      int outSize = 0;
      const int used = av_parser_parse2(parser.get(), context.get(), &out, &outSize, data, left,
                                        AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0);
      if (used < 0) break;
      data += used;
      left -= used;
      if (outSize > 0) VDEC_TRY(decodeBytes(out, static_cast<size_t>(outSize)));
      if (used == 0 && outSize == 0) break;
    }
  }
  if (parser) {  // the parser holds the last frame until told the stream ended
    uint8_t* out = nullptr;
    int outSize = 0;
    av_parser_parse2(parser.get(), context.get(), &out, &outSize, nullptr, 0, AV_NOPTS_VALUE,
                     AV_NOPTS_VALUE, 0);
    if (outSize > 0) VDEC_TRY(decodeBytes(out, static_cast<size_t>(outSize)));
  }
  VDEC_TRY(sendAndReceive(context.get(), nullptr, frame.get(), run.frames, firstFrameAt));
  using Seconds = std::chrono::duration<double>;
  run.seconds = Seconds(std::chrono::steady_clock::now() - start).count();
  if (run.frames > 0) run.firstFrameSeconds = Seconds(firstFrameAt - start).count();
  return run;
}

Result<std::vector<LimitRun>> decodeLimitConcurrently(
    const std::vector<const harness::BitstreamReader*>& inputs, const std::vector<int>& threads,
    double& seconds) {
  const Result<LimitRun> notRun = makeError(ErrorCode::kBackendFailure, "not run");
  std::vector<Result<LimitRun>> results(inputs.size(), notRun);
  const auto start = std::chrono::steady_clock::now();
  {
    std::vector<std::jthread> workers;
    for (size_t i = 0; i < inputs.size(); ++i)
      workers.emplace_back([&, i] { results[i] = decodeLimit(*inputs[i], threads[i]); });
  }
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<LimitRun> runs;
  for (auto& result : results) {
    if (!result) return makeError(result.error());
    runs.push_back(*result);
  }
  return runs;
}

}  // namespace vdec::bench
