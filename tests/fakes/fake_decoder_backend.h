// SPDX-License-Identifier: MIT
// FakeDecoderBackend: a scripted decoder for testing the device core without FFmpeg.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "codecs/decoder_backend.h"

namespace vdec::testing {

// Records every call; the test pushes events with emit(), as the decoding thread would.
class FakeDecoderSession final : public codecs::DecoderSession {
 public:
  struct Decoded {
    uint32_t inputId;
    uint64_t timestamp;
    std::vector<uint8_t> bytes;
  };

  explicit FakeDecoderSession(std::function<void()> notify) : notify_(std::move(notify)) {}

  void decode(uint32_t inputId, uint64_t timestamp, std::vector<uint8_t> bytes) override {
    decoded.push_back({inputId, timestamp, std::move(bytes)});
  }
  void queueOutput(codecs::OutputTarget target) override { outputs.push_back(std::move(target)); }
  void setOutputLayout(const buffers::FrameLayout& l) override { layout = l; }
  // Answers at once, as a session with nothing in flight does (unless holdClears).
  void clearOutput() override {
    std::vector<uint32_t> ids;
    for (const auto& o : outputs) ids.push_back(o.resourceId);
    outputs.clear();
    ++clears;
    if (holdClears) {
      heldClears.push_back(std::move(ids));
    } else {
      emit(codecs::OutputCleared{std::move(ids)});
    }
  }
  void flush() override { ++flushes; }
  void reset() override { ++resets; }
  std::vector<codecs::DecoderEvent> takeEvents() override { return std::exchange(events_, {}); }

  void emit(codecs::DecoderEvent event) {
    events_.push_back(std::move(event));
    if (notify_) notify_();
  }

  std::vector<Decoded> decoded;
  std::vector<codecs::OutputTarget> outputs;
  std::optional<buffers::FrameLayout> layout;
  int flushes = 0;
  int resets = 0;
  int clears = 0;
  bool holdClears = false;  // clearOutput() answers only when the test emits OutputCleared
  std::vector<std::vector<uint32_t>> heldClears;

 private:
  std::function<void()> notify_;
  std::vector<codecs::DecoderEvent> events_;
};

class FakeDecoderBackend final : public codecs::DecoderBackend {
 public:
  std::string name() const override { return "fake"; }
  std::vector<codecs::CodecCapability> capabilities() const override;
  std::vector<buffers::PixelFormat> outputFormats() const override;
  Result<std::unique_ptr<codecs::DecoderSession>> createSession(
      codecs::CodedFormat format, const codecs::SessionOptions& options) override;

  FakeDecoderSession* lastSession = nullptr;  // owned by the device's stream
  int sessionsCreated = 0;
  bool failCreate = false;
};

}  // namespace vdec::testing
