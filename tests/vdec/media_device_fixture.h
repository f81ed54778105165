// SPDX-License-Identifier: MIT
// MediaDeviceFixture: a MediaDevice over test guest RAM with helpers that build virtio-media
// requests (ioctls, USERPTR buffers) and read its responses and events.
#pragma once

#include <linux/videodev2.h>

#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "tests/fakes/fake_decoder_backend.h"
#include "tests/fakes/guest_memory_fixture.h"
#include "tests/vdec/media_test_util.h"
#include "vdec/media/media_device.h"

namespace vdec::media::testing {

struct Reply {
  uint32_t status = 0;
  std::vector<std::byte> payload;  // what follows virtio_media_resp_ioctl
  template <typename T>
  T as() const {
    T value{};
    std::memcpy(&value, payload.data(), std::min(sizeof(T), payload.size()));
    return value;
  }
};

// One decoded eventq event.
struct Event {
  uint32_t type = 0;  // VIRTIO_MEDIA_EVT_*
  uint32_t session = 0;
  wire::virtio_media_event_dqbuf dqbuf{};  // DQBUF
  wire::v4l2_event event{};                // EVENT
  uint32_t errnoValue = 0;                 // ERROR
};

class MediaDeviceFixture : public ::testing::Test {
 protected:
  static constexpr uint64_t kInputBase = 0x10000000;   // 4 input buffers of 64 KiB
  static constexpr uint32_t kInputLength = 64 << 10;
  static constexpr uint64_t kCaptureBase = 0x10100000;  // capture buffers of 1 MiB
  static constexpr uint32_t kCaptureLength = 1 << 20;

  void SetUp() override { restart(DeviceConfig{}); }
  void restart(const DeviceConfig& config, std::shared_ptr<codecs::DecoderBackend> backend = nullptr);

  // Sends a request; returns every completion since (any tag).
  std::vector<Completion> send(const std::vector<std::byte>& request, size_t capacity = 4096);
  uint32_t open();
  void close(uint32_t session);
  // One IOCTL answered at once (fails the test otherwise).
  Reply ioctl(uint32_t session, uint32_t code, const std::vector<std::byte>& payload,
              size_t capacity = 4096);
  template <typename T>
  Reply ioctlOf(uint32_t session, uint32_t code, const T& value) {
    RequestBuilder bytes;
    bytes.add(value);
    return ioctl(session, code, bytes.bytes());
  }
  // The payload of QBUF/QUERYBUF/PREPARE_BUF for a USERPTR buffer of `length` bytes at `gpa`
  // (multi-planar: one plane), in 4 KiB SG entries.
  static std::vector<std::byte> userptrBuffer(uint32_t type, uint32_t index, uint64_t gpa,
                                              uint32_t length, uint32_t bytesUsed = 0,
                                              int64_t sec = 0, int64_t usec = 0);
  Reply qbufInput(uint32_t session, uint32_t index, std::span<const uint8_t> bytes, int64_t sec,
                  int64_t usec = 0);
  Reply qbufCapture(uint32_t session, uint32_t index, uint32_t length = kCaptureLength);
  Reply setFormat(uint32_t session, uint32_t type, uint32_t fourcc, uint32_t width = 0,
                  uint32_t height = 0);
  Reply getFormat(uint32_t session, uint32_t type);
  Reply reqbufs(uint32_t session, uint32_t type, uint32_t count,
                uint32_t memory = V4L2_MEMORY_USERPTR);
  Reply streamOn(uint32_t session, uint32_t type, bool on = true);
  Reply subscribe(uint32_t session, uint32_t type);
  Reply decoderCommand(uint32_t session, uint32_t cmd, bool tryOnly = false);
  // Runs the device's backend event processing (what the notify eventfd triggers).
  void pump() { device_->processBackendEvents(); }
  // Makes the fake decoder report `event` (out of line: keeps GCC's variant warnings away).
  void emit(codecs::DecoderEvent event);
  std::vector<Event> takeEvents();
  ::vdec::testing::FakeDecoderSession* fake() { return fakeBackend_->lastSession; }

  // A session with OUTPUT set up for H.264 (2 USERPTR buffers), events subscribed.
  uint32_t openDecoder();
  // ... that has decoded its first input and reported `width` x `height`; CAPTURE streams with
  // `buffers` queued USERPTR buffers.
  uint32_t openStreamingDecoder(uint32_t width, uint32_t height, uint32_t buffers = 4);

  ::vdec::testing::TestGuestMemory ram_;
  std::shared_ptr<::vdec::testing::FakeDecoderBackend> fakeBackend_;
  std::unique_ptr<MediaDevice> device_;
  uint64_t nextTag_ = 1;
};

}  // namespace vdec::media::testing
