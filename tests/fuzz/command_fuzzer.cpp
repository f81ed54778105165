// SPDX-License-Identifier: MIT
// Fuzzes the virtio-video command path: parseCommand() alone, or scripted command sequences
// through a VideoDevice with the real FFmpeg backend and a memfd guest RAM.
//
// Input format (tests/fuzz/make_seeds.py writes seeds in it):
//   byte 0 = mode. Bits 7, 6 and 5 set: virtio-media device mode (bit 0: two decoder threads),
//   records through a MediaDevice (tests/fuzz/media_device_script.h). Bits 7 and 6 alone:
//   virtio-media parser mode, the rest is one commandq request for media::parseMediaCommand().
//   Bit 7 alone: parser mode, the rest is one request for parseCommand().
//   Otherwise device mode (bit 0: two decoder threads instead of one), then records until the
//   input ends, each [u8 kind][u16 length][length bytes]:
//     kind % 4 == 0  command:    u16 response capacity (at least 8), then the request bytes
//     kind % 4 == 1  guest RAM:  u32 offset (modulo the RAM size), then bytes copied there
//     kind % 4 == 2  wait:       up to u8 milliseconds (at most 100; 250 per input) for decoder
//                                events, then u8 % 3: until they settle (1 ms quiet), until a
//                                device event is pending, until the last command is answered
//     kind % 4 == 3  events:     pops every pending event
//
// Invariants checked (abort on failure): every response is 8..capacity bytes with a valid RESP
// type; every tag is answered exactly once once all streams are destroyed; every event has a
// known type.
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "codecs/ffmpeg_backend.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/media_device_script.h"
#include "vdec/command.h"
#include "vdec/device_config.h"
#include "vdec/media/media_command.h"
#include "vdec/protocol/virtio_video.h"
#include "vdec/video_device.h"

namespace vdec::fuzz {
namespace {

namespace w = wire;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kRamBase = 0x10000000;
constexpr uint64_t kRamSize = 4u << 20;
constexpr auto kWaitBudget = std::chrono::milliseconds(250);  // per input, wall clock

bool validResponseType(uint32_t type) {
  return (type >= w::VIRTIO_VIDEO_RESP_OK_NODATA && type <= w::VIRTIO_VIDEO_RESP_OK_GET_CONTROL) ||
         (type >= w::VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION &&
          type <= w::VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL);
}

void parserMode(std::span<const uint8_t> data) {
  w::virtio_video_cmd_hdr header{};
  auto command = parseCommand(std::as_bytes(data), CommandLimits{}, &header);
  if (!command) return;
  VDEC_FUZZ_ASSERT(data.size() >= sizeof(header));
  VDEC_FUZZ_ASSERT(command->type == header.type && command->streamId == header.stream_id);
  if (auto* create = std::get_if<ResourceCreateCmd>(&command->body)) {
    VDEC_FUZZ_ASSERT(create->guestRanges.size() * 16 + sizeof(w::virtio_video_resource_create) ==
                     data.size());
    VDEC_FUZZ_ASSERT(create->numPlanes >= 1 && create->numPlanes <= w::VIRTIO_VIDEO_MAX_PLANES);
  }
  if (auto* queue = std::get_if<ResourceQueueCmd>(&command->body)) {
    VDEC_FUZZ_ASSERT(queue->numDataSizes <= w::VIRTIO_VIDEO_MAX_PLANES);
  }
}

// virtio-media: a parsed command is internally consistent; a failure is EINVAL or ENOTTY.
void mediaParserMode(std::span<const uint8_t> data) {
  auto command = media::parseMediaCommand(std::as_bytes(data), media::MediaCommandLimits{});
  if (!command) {
    const uint32_t status = media::mediaStatusFor(command.error());
    VDEC_FUZZ_ASSERT(status == EINVAL || status == ENOTTY);
    return;
  }
  VDEC_FUZZ_ASSERT(command->type >= w::VIRTIO_MEDIA_CMD_OPEN &&
                   command->type <= w::VIRTIO_MEDIA_CMD_MUNMAP);
  const auto* ioctl = std::get_if<media::IoctlCmd>(&command->body);
  if (ioctl == nullptr) return;
  VDEC_FUZZ_ASSERT(ioctl->ioctl != nullptr);
  if (const auto* fixed = std::get_if<media::FixedPayload>(&ioctl->payload)) {
    VDEC_FUZZ_ASSERT(fixed->size() == ioctl->ioctl->payloadSize || fixed->empty());
  }
  if (const auto* buffer = std::get_if<media::MediaBufferPayload>(&ioctl->payload)) {
    VDEC_FUZZ_ASSERT(buffer->planes.size() <= w::VIRTIO_MEDIA_MAX_PLANES);
    for (size_t p = 0; p < buffer->sharedPages.size(); ++p) {
      uint64_t covered = 0;
      for (const auto& range : buffer->sharedPages[p]) covered += range.length;
      const uint64_t length = buffer->planes.empty() ? buffer->buffer.length
                                                     : buffer->planes.at(p).length;
      VDEC_FUZZ_ASSERT(covered == length);
    }
  }
  if (const auto* controls = std::get_if<media::MediaExtControls>(&ioctl->payload)) {
    VDEC_FUZZ_ASSERT(controls->controls.size() == controls->header.count);
    VDEC_FUZZ_ASSERT(controls->controlPages.size() == controls->controls.size());
  }
}

class DeviceScript {
 public:
  DeviceScript(std::shared_ptr<codecs::DecoderBackend> backend, const FuzzGuestMemory& ram,
               int decoderThreads)
      : ram_(ram), deadline_(Clock::now() + kWaitBudget) {
    DeviceConfig config;
    config.decoderThreads = decoderThreads;
    device_ = std::make_unique<VideoDevice>(config, std::move(backend));
    device_->setGuestMemory(ram.memory);
  }

  void run(ByteReader& in) {
    while (!in.empty()) {
      const uint8_t kind = in.u8();
      const uint16_t length = in.u16();
      ByteReader record(in.bytes(length));
      switch (kind % 4) {
        case 0:
          command(record);
          break;
        case 1:
          guestWrite(record);
          break;
        case 2: {
          const auto ms = std::chrono::milliseconds(std::min<uint8_t>(record.u8(), 100));
          wait(ms, static_cast<Until>(record.u8() % 3));
          break;
        }
        case 3:
          drainEvents();
          break;
      }
    }
  }

  // Destroys every stream the script named, then checks that every tag was answered once.
  void finish() {
    for (uint32_t streamId : streamIds_) {
      w::virtio_video_cmd_hdr destroy{w::VIRTIO_VIDEO_CMD_STREAM_DESTROY, streamId};
      submit(std::as_bytes(std::span(&destroy, 1)), 4096);
    }
    collect();
    drainEvents();
    for (const auto& [tag, capacity] : capacities_) {
      if (!answered_.count(tag)) fail("a command was never answered after STREAM_DESTROY");
    }
    if (std::getenv("VDEC_FUZZ_VERBOSE") != nullptr) {
      const auto& stats = device_->statistics();
      std::fprintf(stderr, "commands %zu, frames %lu, error responses %lu\n", capacities_.size(),
                   static_cast<unsigned long>(stats.frames),
                   static_cast<unsigned long>(stats.errorResponses));
    }
    device_.reset();  // joins the decoder threads while the guest RAM is still mapped
  }

 private:
  void command(ByteReader& record) {
    const size_t capacity = std::max<uint16_t>(record.u16(), sizeof(w::virtio_video_cmd_hdr));
    auto request = std::as_bytes(record.bytes(record.remaining()));
    if (request.size() >= sizeof(w::virtio_video_cmd_hdr)) {
      uint32_t streamId;
      std::memcpy(&streamId, request.data() + 4, sizeof(streamId));
      if (streamIds_.size() < 64) streamIds_.insert(streamId);
    }
    submit(request, capacity);
    pump();
  }

  void submit(std::span<const std::byte> request, size_t capacity) {
    const uint64_t tag = nextTag_++;
    capacities_[tag] = capacity;
    device_->handleCommand(tag, request, capacity);
    collect();
  }

  void guestWrite(ByteReader& record) {
    const uint64_t offset = record.u32() % ram_.size;
    auto bytes = record.bytes(record.remaining());
    const size_t count = std::min<uint64_t>(bytes.size(), ram_.size - offset);
    std::memcpy(ram_.host + offset, bytes.data(), count);
  }

  // Lets decoder threads report what they have so far without blocking.
  void pump() {
    for (int i = 0; i < 4; ++i) {
      pollfd fd{device_->notifyFd(), POLLIN, 0};
      if (::poll(&fd, 1, 0) <= 0) break;
      device_->processBackendEvents();
      collect();
    }
  }

  enum class Until { kSettled, kEvent, kLastAnswered };

  // Waits up to `duration` for decoder activity, until `until` holds (kSettled: 1 ms quiet).
  void wait(std::chrono::milliseconds duration, Until until) {
    const auto end = std::min(Clock::now() + duration, deadline_);
    bool woke = false;
    while (Clock::now() < end) {
      if (until == Until::kEvent && device_->hasPendingEvents()) break;
      if (until == Until::kLastAnswered && answered_.count(nextTag_ - 1)) break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      pollfd fd{device_->notifyFd(), POLLIN, 0};
      const bool settle = woke && until == Until::kSettled;
      const int timeout = settle ? 1 : static_cast<int>(std::max<int64_t>(left.count(), 1));
      if (::poll(&fd, 1, timeout) <= 0) break;
      woke = true;
      device_->processBackendEvents();
      collect();
    }
  }

  void drainEvents() {
    while (device_->hasPendingEvents()) {
      auto event = device_->popEvent();
      VDEC_FUZZ_ASSERT(event.event_type == w::VIRTIO_VIDEO_EVENT_ERROR ||
                       event.event_type == w::VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED);
    }
  }

  void collect() {
    for (auto& completion : device_->takeCompletions()) {
      auto capacity = capacities_.find(completion.tag);
      if (capacity == capacities_.end()) fail("completion for a tag never submitted");
      if (!answered_.insert(completion.tag).second) fail("tag answered twice");
      VDEC_FUZZ_ASSERT(completion.response.size() >= sizeof(w::virtio_video_cmd_hdr));
      VDEC_FUZZ_ASSERT(completion.response.size() <= capacity->second);
      uint32_t type;
      std::memcpy(&type, completion.response.data(), sizeof(type));
      VDEC_FUZZ_ASSERT(validResponseType(type));
    }
  }

  const FuzzGuestMemory& ram_;
  const Clock::time_point deadline_;
  std::unique_ptr<VideoDevice> device_;
  uint64_t nextTag_ = 1;
  std::map<uint64_t, size_t> capacities_;
  std::set<uint64_t> answered_;
  std::set<uint32_t> streamIds_;
};

}  // namespace
}  // namespace vdec::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  vdec::fuzz::silenceLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vdec::fuzz;
  if (size == 0) return 0;
  ByteReader in(std::span(data, size));
  const uint8_t mode = in.u8();
  static auto backend = std::make_shared<vdec::codecs::FfmpegBackend>();
  static const FuzzGuestMemory ram = makeFuzzGuestMemory(kRamSize, kRamBase);
  if ((mode & 0xE0) == 0xE0) {
    ram.clear();
    MediaDeviceScript script(backend, ram, 1 + (mode & 1));
    script.run(in);
    script.finish();
    return 0;
  }
  if ((mode & 0xC0) == 0xC0) {
    mediaParserMode(std::span(data + 1, size - 1));
    return 0;
  }
  if (mode & 0x80) {
    parserMode(std::span(data + 1, size - 1));
    return 0;
  }
  ram.clear();
  DeviceScript script(backend, ram, 1 + (mode & 1));
  script.run(in);
  script.finish();
  return 0;
}
