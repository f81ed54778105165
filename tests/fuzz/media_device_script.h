// SPDX-License-Identifier: MIT
// MediaDeviceScript: the command fuzzer's virtio-media device mode. Runs scripted commandq
// requests, guest RAM writes and waits through a MediaDevice with the real FFmpeg backend.
//
// Records, each [u8 kind][u16 length][length bytes], as the virtio-video device mode:
//   kind % 4 == 0  command:    u16 response capacity (0 allowed: CLOSE has no writable part),
//                              then the request bytes
//   kind % 4 == 1  guest RAM:  u32 offset (modulo the RAM size), then bytes copied there
//   kind % 4 == 2  wait:       up to u8 milliseconds (at most 100; 250 per input) for decoder
//                              events
//   kind % 4 == 3  events:     pops every pending event
// Invariants (abort on failure): every response is empty (capacity 0) or a response header and
// at most the capacity, with status 0 or a Linux errno; every tag is answered exactly once once
// every session is closed; every event is a known type of its exact size.
#pragma once

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "tests/fuzz/fuzz_support.h"
#include "vdec/base/wire.h"
#include "vdec/media/media_device.h"

namespace vdec::fuzz {

class MediaDeviceScript {
 public:
  MediaDeviceScript(std::shared_ptr<codecs::DecoderBackend> backend, const FuzzGuestMemory& ram,
                    int decoderThreads)
      : ram_(ram), deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(250)) {
    DeviceConfig config;
    config.decoderThreads = decoderThreads;
    device_ = std::make_unique<media::MediaDevice>(config, std::move(backend));
    device_->setGuestMemory(ram.memory);
  }

  void run(ByteReader& in) {
    while (!in.empty()) {
      const uint8_t kind = in.u8();
      const uint16_t length = in.u16();
      ByteReader record(in.bytes(length));
      switch (kind % 4) {
        case 0: {
          const size_t capacity = record.u16();
          submit(std::as_bytes(record.bytes(record.remaining())), capacity);
          break;
        }
        case 1: {
          const uint64_t offset = record.u32() % ram_.size;
          auto bytes = record.bytes(record.remaining());
          std::memcpy(ram_.host + offset, bytes.data(),
                      std::min<uint64_t>(bytes.size(), ram_.size - offset));
          break;
        }
        case 2:
          wait(std::chrono::milliseconds(std::min<uint8_t>(record.u8(), 100)));
          break;
        case 3:
          drainEvents();
          break;
      }
    }
  }

  // Closes every session the device handed out, then checks every tag was answered once.
  void finish() {
    const std::set<uint32_t> sessions = sessions_;
    for (uint32_t id : sessions) {
      wire::virtio_media_cmd_close close{{wire::VIRTIO_MEDIA_CMD_CLOSE, 0}, id, 0};
      submit(std::as_bytes(std::span(&close, 1)), 0);
    }
    drainEvents();
    for (const auto& [tag, capacity] : capacities_) {
      if (!answered_.count(tag)) fail("a virtio-media command was never answered after CLOSE");
    }
    device_.reset();  // joins the decoder threads while the guest RAM is still mapped
  }

 private:
  void submit(std::span<const std::byte> request, size_t capacity) {
    const uint64_t tag = nextTag_++;
    capacities_[tag] = capacity;
    if (request.size() >= sizeof(uint32_t)) std::memcpy(&commands_[tag], request.data(), 4);
    device_->handleCommand(tag, request, capacity);
    collect();
    pump();
  }

  void pump() {
    for (int i = 0; i < 4; ++i) {
      pollfd fd{device_->notifyFd(), POLLIN, 0};
      if (::poll(&fd, 1, 0) <= 0) break;
      device_->processBackendEvents();
      collect();
    }
  }

  void wait(std::chrono::milliseconds duration) {
    const auto end = std::min(std::chrono::steady_clock::now() + duration, deadline_);
    while (std::chrono::steady_clock::now() < end) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      pollfd fd{device_->notifyFd(), POLLIN, 0};
      if (::poll(&fd, 1, static_cast<int>(std::max<int64_t>(left.count(), 1))) <= 0) break;
      device_->processBackendEvents();
      collect();
    }
  }

  void drainEvents() {
    while (device_->hasPendingEvents()) {
      auto event = device_->popEvent();
      auto header = readWire<wire::virtio_media_event_header>(event);
      VDEC_FUZZ_ASSERT(header.has_value());
      switch (header->event) {
        case wire::VIRTIO_MEDIA_EVT_ERROR:
          VDEC_FUZZ_ASSERT(event.size() == sizeof(wire::virtio_media_event_error));
          break;
        case wire::VIRTIO_MEDIA_EVT_DQBUF:
          VDEC_FUZZ_ASSERT(event.size() == sizeof(wire::virtio_media_event_dqbuf));
          break;
        case wire::VIRTIO_MEDIA_EVT_EVENT:
          VDEC_FUZZ_ASSERT(event.size() == sizeof(wire::virtio_media_event_event));
          break;
        default:
          fail("unknown virtio-media event type");
      }
    }
  }

  void collect() {
    for (auto& completion : device_->takeCompletions()) {
      auto capacity = capacities_.find(completion.tag);
      if (capacity == capacities_.end()) fail("completion for a tag never submitted");
      if (!answered_.insert(completion.tag).second) fail("tag answered twice");
      VDEC_FUZZ_ASSERT(completion.response.size() <= capacity->second);
      if (capacity->second < sizeof(wire::virtio_media_resp_header)) continue;
      VDEC_FUZZ_ASSERT(completion.response.size() >= sizeof(wire::virtio_media_resp_header) ||
                       completion.response.empty());
      if (completion.response.empty()) continue;  // CLOSE
      uint32_t status;
      std::memcpy(&status, completion.response.data(), sizeof(status));
      VDEC_FUZZ_ASSERT(status <= 133);  // 0 or a Linux errno (EHWPOISON is the last)
      if (status == 0 && commands_[completion.tag] == wire::VIRTIO_MEDIA_CMD_OPEN) {
        auto open = readWire<wire::virtio_media_resp_open>(completion.response);
        VDEC_FUZZ_ASSERT(open.has_value());
        sessions_.insert(open->session_id);
      }
    }
  }

  const FuzzGuestMemory& ram_;
  const std::chrono::steady_clock::time_point deadline_;
  std::unique_ptr<media::MediaDevice> device_;
  uint64_t nextTag_ = 1;
  std::map<uint64_t, size_t> capacities_;
  std::set<uint64_t> answered_;
  std::map<uint64_t, uint32_t> commands_;  // command type by tag
  std::set<uint32_t> sessions_;            // ids OPEN returned
};

}  // namespace vdec::fuzz
