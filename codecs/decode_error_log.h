// SPDX-License-Identifier: MIT
// DecodeErrorLog: which packets libavcodec reported decoding errors for, from its log.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace vdec::codecs {

// libavcodec 5.1 tells about damage in two ways: AVFrame::decode_error_flags, which frame
// threads copy when a later thread picks the picture for output, sometimes before the picture's
// own thread has set them (the flags of one damaged picture come and go from run to run), and
// its error log ("error while decoding MB ..."), which is written by the thread decoding the
// packet, always. The session sets AVCodecContext::reordered_opaque to the number (pts) of each
// packet it sends; frame threads copy it into their contexts; a process-wide av_log callback
// records the number for error messages of a registered context. The result is the same with
// and without frame threads.
//
// Contexts are told apart by AVCodecContext::opaque (frame threads copy it): the key must be
// unique to the session (the backend's own pointer). Messages about side data (SEI) are not
// damage and are ignored. Every message still reaches libavcodec's default log callback.
//
// Threads: record() runs on libavcodec's threads; the rest on the session thread.
class DecodeErrorLog {
 public:
  // Registers `key` (the opaque of the session's contexts). The key must outlive this object.
  explicit DecodeErrorLog(const void* key);
  ~DecodeErrorLog();
  DecodeErrorLog(const DecodeErrorLog&) = delete;
  DecodeErrorLog& operator=(const DecodeErrorLog&) = delete;

  // Whether an error was logged while packet `seq` was decoded.
  bool erred(uint64_t seq) const;
  // Called by the log callback.
  void record(uint64_t seq);

  // Packet numbers remembered (pictures come out within the DPB's reach of their packets).
  static constexpr size_t kRemembered = 256;

 private:
  const void* key_;
  mutable std::mutex mutex_;
  std::deque<uint64_t> erred_;  // most recent last
};

}  // namespace vdec::codecs
