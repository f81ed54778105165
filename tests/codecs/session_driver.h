// SPDX-License-Identifier: MIT
// SessionDriver: plays the device's part against a DecoderSession in tests: answers
// FormatChanged with a layout, reads every picture's visible area back and hashes it, recycles
// output resources, and records every event.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "buffers/frame_layout.h"
#include "codecs/decoder_backend.h"
#include "codecs/decoder_session.h"
#include "tests/codecs/vector_memory.h"

struct AVMD5;

namespace vdec::codecs::testing {

struct DecodedPicture {
  uint32_t resourceId = 0;
  uint64_t timestamp = 0;
  bool error = false;
  uint64_t bytesCopied = 0;
  OutputPath path = OutputPath::kBounce;
  std::string md5;  // of the visible area as I420; empty for error pictures
};

class SessionDriver {
 public:
  struct Options {
    buffers::PixelFormat format = buffers::PixelFormat::kI420;
    int threads = 0;
    uint64_t targetSize = 1 << 20;
    bool contiguous = true;  // false: targets without a mapping (scatter writes)
    bool requeue = true;     // give each picture's resource back at once
    bool forceBounce = false;  // SessionOptions::forceBounce
    // Lay pictures out as the device does, with the rows and strides the format asks for
    // (direct rendering possible); false: the bare computeFrameLayout defaults.
    bool deviceLayout = true;
  };

  SessionDriver(CodedFormat format, Options options);
  ~SessionDriver();

  DecoderSession& session() { return *session_; }
  void setRequeue(bool requeue) { options_.requeue = requeue; }
  // Lends a new resource of targetSize bytes.
  void queueTarget(uint32_t resourceId);
  // Sends each buffer with ids firstId, firstId + 1, ... and the given timestamps (index if empty).
  void decodeAll(const std::vector<std::vector<uint8_t>>& buffers, uint32_t firstId,
                 const std::vector<uint64_t>& timestamps = {});
  // Processes events until `done` holds (true) or the timeout passes (false).
  bool waitFor(const std::function<bool()>& done,
               std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Processes events for `duration`.
  void pump(std::chrono::milliseconds duration);
  // DecoderSession::clearOutput(), then processes events until its OutputCleared; returns its
  // ids (empty, with a test failure, if it never came).
  std::vector<uint32_t> clearOutput();

  // The layout answered to the last FormatChanged.
  const std::optional<buffers::FrameLayout>& layout() const { return layout_; }
  // Every resource lent so far, by id.
  const std::map<uint32_t, std::shared_ptr<VectorMemory>>& memories() const { return memories_; }

  // MD5 of all visible I420 output so far, frame after frame (fluster's md5-whole-output).
  std::string wholeOutputMd5() const;

  std::vector<DecodedPicture> pictures;
  std::vector<uint32_t> inputsDone;
  std::vector<StreamFormat> formats;
  std::vector<uint32_t> eosResources;
  std::vector<std::vector<uint32_t>> resets;
  std::vector<std::vector<uint32_t>> clears;  // OutputCleared ids, in order
  std::vector<std::string> errors;
  int flushes = 0;
  // "picture", "eos", "flush", "format", "reset", "error", "cleared"
  std::vector<std::string> log;

 private:
  void handle(const DecoderEvent& event);
  void handlePicture(const PictureReady& ready);
  std::vector<uint8_t> visibleI420(const VectorMemory& memory) const;

  Options options_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool notified_ = false;
  std::unique_ptr<DecoderSession> session_;
  std::map<uint32_t, std::shared_ptr<VectorMemory>> memories_;
  std::optional<buffers::FrameLayout> layout_;
  AVMD5* wholeMd5_ = nullptr;
};

std::string md5Hex(const std::vector<uint8_t>& bytes);

}  // namespace vdec::codecs::testing
