// SPDX-License-Identifier: MIT
// Fuzzes FfmpegSession with arbitrary bitstreams cut anywhere (AV1: one temporal unit per buffer), writing into in-memory output
// resources, with output clears and resets in between; every input ends with a flush that must
// finish (a hang aborts).
//
// Input format (tests/fuzz/make_seeds.py writes seeds in it):
//   byte 0: bits 0-1 codec (h264, hevc, vp8, vp9); bits 2-3 pixel format (nv12, i420, yv12),
//           or 3: AV1, with bits 0-1 (% 3) as the pixel format; bit 4 output resources of 4 KiB instead of the layout's size; bits 5-6 one to four
//           output resources; bit 7 resources report no contiguous mapping (scattered writes).
//   byte 1: chunk size / 16. Non-zero: the rest is bitstream, decoded in chunks of that size.
//           Zero: the rest is records [u8 op][u16 length][length bytes]: op % 8 < 6 decodes
//           the bytes as one buffer, 6 takes every output back (clearOutput) and lends it
//           again once OutputCleared came, 7 resets the session and waits for ResetDone.
//
// Invariants checked: every PictureReady names a resource that is lent; OutputCleared names only
// lent resources, once per clearOutput; every input is either consumed (InputDone) or cancelled, exactly once; the
// flush ends with FlushDone, after an end-of-stream picture.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "buffers/frame_layout.h"
#include "buffers/resource_memory.h"
#include "codecs/ffmpeg_session.h"
#include "tests/fuzz/fuzz_support.h"

namespace vdec::fuzz {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kFlushTimeout = std::chrono::seconds(8);  // libFuzzer's -timeout is 10 s
constexpr auto kResetTimeout = std::chrono::seconds(4);
constexpr uint64_t kSmallResource = 4096;
constexpr uint64_t kMaxResource = 64ull << 20;

// Heap-backed resource memory: ASan sees any write past its end.
class HeapMemory final : public buffers::ResourceMemory {
 public:
  HeapMemory(uint64_t size, bool contiguous) : bytes_(size), contiguous_(contiguous) {}

  uint64_t size() const override { return bytes_.size(); }
  Status write(uint64_t offset, std::span<const std::byte> data) override {
    if (offset > bytes_.size() || data.size() > bytes_.size() - offset) {
      return makeError(ErrorCode::kInvalidParameter, "write out of range");
    }
    std::memcpy(bytes_.data() + offset, data.data(), data.size());
    return okStatus();
  }
  Status read(uint64_t offset, std::span<std::byte> out) const override {
    if (offset > bytes_.size() || out.size() > bytes_.size() - offset) {
      return makeError(ErrorCode::kInvalidParameter, "read out of range");
    }
    std::memcpy(out.data(), bytes_.data() + offset, out.size());
    return okStatus();
  }
  std::span<std::byte> contiguous() override {
    return contiguous_ ? std::span<std::byte>(bytes_) : std::span<std::byte>();
  }
  const char* kind() const override { return "fuzz heap"; }

 private:
  std::vector<std::byte> bytes_;
  bool contiguous_;
};

class SessionDriver {
 public:
  SessionDriver(uint8_t config) {
    const bool av1 = ((config >> 2) & 3) == 3;
    format_ = av1 ? codecs::CodedFormat::kAv1 : static_cast<codecs::CodedFormat>(config & 3);
    pixelFormat_ = static_cast<buffers::PixelFormat>((av1 ? config & 3 : (config >> 2) & 3) % 3);
    smallResources_ = (config & 0x10) != 0;
    numResources_ = 1 + ((config >> 5) & 3);
    contiguous_ = (config & 0x80) == 0;
    notifyFd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (notifyFd_ < 0) fail("eventfd failed");
  }
  ~SessionDriver() {
    session_.reset();
    ::close(notifyFd_);
  }

  bool start() {
    codecs::SessionOptions options;
    options.outputFormat = pixelFormat_;
    options.threads = 1;
    const int fd = notifyFd_;
    options.notify = [fd] {
      uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(fd, &one, sizeof(one));
    };
    auto session = codecs::FfmpegSession::create(format_, options);
    if (!session) return false;  // decoder missing from this libavcodec
    session_ = std::move(*session);
    // Lend resources before any format is known, as a guest that queues early would.
    for (uint32_t id = 1; id <= numResources_; ++id) lend(id, kSmallResource);
    return true;
  }

  void decode(std::span<const uint8_t> bytes) {
    const uint32_t id = nextInput_++;
    pendingInputs_.insert(id);
    session_->decode(id, id * 1000, std::vector<uint8_t>(bytes.begin(), bytes.end()));
    handleEvents();
  }

  // Takes every output back; OutputCleared lends them again (resized to the layout).
  void clearOutputs() {
    session_->clearOutput();
    ++clearsPending_;
  }

  void reset() {
    session_->reset();
    resetDone_ = false;
    waitFor([this] { return resetDone_; }, kResetTimeout, "reset did not finish");
  }

  void flush() {
    session_->flush();
    waitFor([this] { return flushDone_; }, kFlushTimeout, "flush did not finish (hang)");
    if (!endOfStream_) fail("FlushDone without an end-of-stream picture");
    if (!pendingInputs_.empty()) fail("input neither consumed nor cancelled after a flush");
    if (std::getenv("VDEC_FUZZ_VERBOSE") != nullptr) {
      std::fprintf(stderr, "%u inputs, %u pictures (%u damaged), %u format changes\n",
                   nextInput_ - 1, pictures_, damaged_, formatChanges_);
    }
  }

 private:
  uint64_t resourceSize() const {
    if (smallResources_ || !layout_) return kSmallResource;
    return std::min(layout_->totalSize(), kMaxResource);
  }

  void lend(uint32_t id, uint64_t size) {
    lent_.insert(id);
    session_->queueOutput({id, std::make_shared<HeapMemory>(size, contiguous_)});
  }

  template <typename Predicate>
  void waitFor(Predicate done, std::chrono::seconds timeout, const char* what) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() > deadline) fail(what);
      pollfd fd{notifyFd_, POLLIN, 0};
      ::poll(&fd, 1, 10);
      handleEvents();
    }
  }

  void handleEvents() {
    uint64_t counter;
    [[maybe_unused]] auto n = ::read(notifyFd_, &counter, sizeof(counter));
    for (auto& event : session_->takeEvents()) {
      std::visit([this](auto& e) { handle(e); }, event);
    }
  }

  void handle(const codecs::InputDone& e) {
    if (pendingInputs_.erase(e.inputId) != 1) fail("InputDone for an unknown or finished input");
  }
  void handle(const codecs::FormatChanged& e) {
    const auto& f = e.format;
    ++formatChanges_;
    layout_ = buffers::computeFrameLayout(pixelFormat_, f.codedWidth, f.codedHeight, f.visible);
    // The device falls back to a default layout when the stream's is impossible; so do we,
    // and the session must cope with a layout that does not fit its frames.
    if (!layout_) {
      layout_ = buffers::computeFrameLayout(pixelFormat_, 640, 480, {0, 0, 640, 480});
    }
    session_->setOutputLayout(*layout_);
    // Resources of the new size, as a guest reallocating after a resolution change.
    clearOutputs();
  }
  void handle(const codecs::OutputCleared& e) {
    if (clearsPending_ == 0) fail("OutputCleared without clearOutput");
    --clearsPending_;
    for (uint32_t id : e.resourceIds) {
      if (lent_.erase(id) != 1) fail("OutputCleared named a resource that was not lent");
    }
    for (uint32_t id = 1; id <= numResources_; ++id) {
      if (!lent_.count(id)) lend(id, resourceSize());
    }
  }
  void handle(const codecs::PictureReady& e) {
    if (lent_.erase(e.resourceId) != 1) fail("PictureReady for a resource that is not lent");
    if (e.endOfStream) endOfStream_ = true;
    if (!e.endOfStream) ++pictures_;
    if (e.error) ++damaged_;
    lend(e.resourceId, resourceSize());
  }
  void handle(const codecs::FlushDone&) { flushDone_ = true; }
  void handle(const codecs::ResetDone& e) {
    for (uint32_t id : e.cancelledInputs) {
      if (pendingInputs_.erase(id) != 1) fail("ResetDone cancelled an unknown or finished input");
    }
    resetDone_ = true;
  }
  void handle(const codecs::StreamError&) {}

  codecs::CodedFormat format_;
  buffers::PixelFormat pixelFormat_;
  bool smallResources_;
  uint32_t numResources_;
  bool contiguous_;
  int notifyFd_ = -1;
  std::unique_ptr<codecs::DecoderSession> session_;
  int clearsPending_ = 0;
  std::optional<buffers::FrameLayout> layout_;
  std::set<uint32_t> lent_;
  std::set<uint32_t> pendingInputs_;
  uint32_t nextInput_ = 1;
  bool resetDone_ = false;
  bool flushDone_ = false;
  bool endOfStream_ = false;
  uint32_t pictures_ = 0;
  uint32_t damaged_ = 0;
  uint32_t formatChanges_ = 0;
};

}  // namespace
}  // namespace vdec::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  vdec::fuzz::silenceLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vdec::fuzz;
  ByteReader in(std::span(data, size));
  SessionDriver driver(in.u8());
  const size_t chunk = size_t{in.u8()} * 16;
  if (!driver.start()) return 0;
  if (chunk != 0) {
    while (!in.empty()) driver.decode(in.bytes(chunk));
  } else {
    while (!in.empty()) {
      const uint8_t op = in.u8() % 8;
      auto bytes = in.bytes(in.u16());
      if (op < 6) driver.decode(bytes);
      if (op == 6) driver.clearOutputs();
      if (op == 7) driver.reset();
    }
  }
  driver.flush();
  return 0;
}
