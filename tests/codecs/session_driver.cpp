// SPDX-License-Identifier: MIT
#include "tests/codecs/session_driver.h"

#include <cstdlib>

#include "vdec/base/logging.h"

#include <algorithm>
#include <cstring>

#include <gtest/gtest.h>

#include "codecs/ffmpeg_backend.h"

extern "C" {
#include <libavutil/md5.h>
#include <libavutil/mem.h>
}

namespace vdec::codecs::testing {
namespace {

std::string hex(const uint8_t (&digest)[16]) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (uint8_t byte : digest) {
    text += kDigits[byte >> 4];
    text += kDigits[byte & 15];
  }
  return text;
}

}  // namespace

std::string md5Hex(const std::vector<uint8_t>& bytes) {
  uint8_t digest[16];
  av_md5_sum(digest, bytes.data(), bytes.size());
  return hex(digest);
}

SessionDriver::SessionDriver(CodedFormat format, Options options) : options_(options) {
  // VDEC_TEST_LOG=debug shows what the session does (default: its own level).
  if (const char* level = std::getenv("VDEC_TEST_LOG")) logs::setLevel(level);
  wholeMd5_ = av_md5_alloc();
  av_md5_init(wholeMd5_);
  SessionOptions sessionOptions;
  sessionOptions.outputFormat = options.format;
  sessionOptions.threads = options.threads;
  sessionOptions.forceBounce = options.forceBounce;
  sessionOptions.notify = [this] {
    std::lock_guard lock(mutex_);
    notified_ = true;
    cv_.notify_one();
  };
  FfmpegBackend backend;
  auto session = backend.createSession(format, sessionOptions);
  if (!session)
    ADD_FAILURE() << session.error().message;
  else
    session_ = std::move(*session);
}

SessionDriver::~SessionDriver() {
  session_.reset();  // joins the decoding thread before the notify target goes away
  av_free(wholeMd5_);
}

void SessionDriver::queueTarget(uint32_t resourceId) {
  auto memory = std::make_shared<VectorMemory>(options_.targetSize, options_.contiguous);
  memories_[resourceId] = memory;
  session_->queueOutput(OutputTarget{resourceId, memory});
}

void SessionDriver::decodeAll(const std::vector<std::vector<uint8_t>>& buffers, uint32_t firstId,
                              const std::vector<uint64_t>& timestamps) {
  for (size_t i = 0; i < buffers.size(); ++i) {
    session_->decode(firstId + static_cast<uint32_t>(i), timestamps.empty() ? i : timestamps[i],
                     buffers[i]);
  }
}

bool SessionDriver::waitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    for (const DecoderEvent& event : session_->takeEvents()) handle(event);
    if (done()) return true;
    std::unique_lock lock(mutex_);
    if (!cv_.wait_until(lock, deadline, [this] { return notified_; })) return false;
    notified_ = false;
  }
}

void SessionDriver::pump(std::chrono::milliseconds duration) {
  waitFor([] { return false; }, duration);
}

std::string SessionDriver::wholeOutputMd5() const {
  AVMD5* copy = av_md5_alloc();
  std::memcpy(copy, wholeMd5_, av_md5_size);
  uint8_t digest[16];
  av_md5_final(copy, digest);
  av_free(copy);
  return hex(digest);
}

void SessionDriver::handle(const DecoderEvent& event) {
  if (const auto* done = std::get_if<InputDone>(&event)) {
    inputsDone.push_back(done->inputId);
  } else if (const auto* changed = std::get_if<FormatChanged>(&event)) {
    formats.push_back(changed->format);
    const StreamFormat& format = changed->format;
    if (options_.deviceLayout) {
      // As vdec::Stream::recomputeOutputParams does.
      const uint32_t heightAlign = std::max(format.heightAlign, 2u);
      const uint32_t rows =
          (format.codedHeight + heightAlign - 1) / heightAlign * heightAlign + format.extraRows;
      layout_ = buffers::computeFrameLayout(options_.format, format.codedWidth, rows,
                                            format.visible, std::max(format.strideAlign, 64u));
    } else {
      layout_ = buffers::computeFrameLayout(options_.format, format.codedWidth,
                                            format.codedHeight, format.visible);
    }
    ASSERT_TRUE(layout_.has_value());
    session_->setOutputLayout(*layout_);
    log.push_back("format");
  } else if (const auto* ready = std::get_if<PictureReady>(&event)) {
    handlePicture(*ready);
  } else if (std::holds_alternative<FlushDone>(event)) {
    ++flushes;
    log.push_back("flush");
  } else if (const auto* reset = std::get_if<ResetDone>(&event)) {
    resets.push_back(reset->cancelledInputs);
    log.push_back("reset");
  } else if (const auto* error = std::get_if<StreamError>(&event)) {
    errors.push_back(error->message);
    log.push_back("error");
  } else if (const auto* cleared = std::get_if<OutputCleared>(&event)) {
    clears.push_back(cleared->resourceIds);
    log.push_back("cleared");
  }
}

std::vector<uint32_t> SessionDriver::clearOutput() {
  const size_t before = clears.size();
  session_->clearOutput();
  const bool done = waitFor([&] { return clears.size() > before; });
  EXPECT_TRUE(done) << "no OutputCleared";
  return done ? clears[before] : std::vector<uint32_t>{};
}

void SessionDriver::handlePicture(const PictureReady& ready) {
  auto it = memories_.find(ready.resourceId);
  ASSERT_NE(it, memories_.end()) << "unknown resource " << ready.resourceId;
  if (ready.endOfStream) {
    eosResources.push_back(ready.resourceId);
    log.push_back("eos");
  } else {
    DecodedPicture picture{ready.resourceId, ready.timestamp, ready.error, ready.bytesCopied,
                           ready.path, {}};
    if (!ready.error) {
      const std::vector<uint8_t> visible = visibleI420(*it->second);
      picture.md5 = md5Hex(visible);
      av_md5_update(wholeMd5_, visible.data(), visible.size());
    }
    pictures.push_back(picture);
    log.push_back("picture");
  }
  if (options_.requeue) session_->queueOutput(OutputTarget{ready.resourceId, it->second});
}

// The visible rectangle, planar Y then U then V, whatever the layout's format.
std::vector<uint8_t> SessionDriver::visibleI420(const VectorMemory& memory) const {
  const buffers::FrameLayout& layout = *layout_;
  const buffers::Rect& rect = layout.visible;
  const auto* base = reinterpret_cast<const uint8_t*>(memory.bytes().data());
  std::vector<uint8_t> out;
  for (uint32_t y = 0; y < rect.height; ++y) {
    const uint8_t* row = base + layout.planes[0].offset +
                         static_cast<size_t>(rect.top + y) * layout.planes[0].stride + rect.left;
    out.insert(out.end(), row, row + rect.width);
  }
  const uint32_t chromaWidth = (rect.width + 1) / 2;
  const uint32_t chromaHeight = (rect.height + 1) / 2;
  for (int component = 0; component < 2; ++component) {
    for (uint32_t y = 0; y < chromaHeight; ++y) {
      const size_t rowIndex = rect.top / 2 + y;
      if (layout.format == buffers::PixelFormat::kNv12) {
        const uint8_t* row = base + layout.planes[1].offset + rowIndex * layout.planes[1].stride;
        for (uint32_t x = 0; x < chromaWidth; ++x)
          out.push_back(row[2 * (rect.left / 2 + x) + component]);
      } else {
        // I420 keeps U in plane 1, YV12 keeps V there.
        const bool yv12 = layout.format == buffers::PixelFormat::kYv12;
        const int plane = 1 + (yv12 ? 1 - component : component);
        const uint8_t* row = base + layout.planes[plane].offset +
                             rowIndex * layout.planes[plane].stride + rect.left / 2;
        out.insert(out.end(), row, row + chromaWidth);
      }
    }
  }
  return out;
}

}  // namespace vdec::codecs::testing
