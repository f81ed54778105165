// SPDX-License-Identifier: MIT
// Fuzzes the vhost-user back-end: arbitrary message streams, with memfds, eventfds and sockets
// attached via SCM_RIGHTS, into a VhostUserServer serving the real video device (FFmpeg
// backend). Each input is one front-end connection over a unix socket (abstract namespace, no
// file); the input ends with the front-end closing its side, and the server must drop the
// connection within kDropTimeout (a hang aborts).
//
// Input format (tests/fuzz/make_seeds.py writes seeds in it): records [u8 op][u16 length][bytes]
//   op % 4 == 0  message: [u8 fd kinds if op & 0x40], u32 request, u32 flags, then the payload
//                (header.size = its length). Attached fds, in this order: (op >> 2) % 4 memfds
//                of kRamSize bytes (guest RAM, also mapped here), a notifier if op & 0x10, a
//                socket if op & 0x20, then the last fd once more if op & 0x80 (the same file
//                twice). The fd-kinds byte (0 without op & 0x40) says what they are:
//                  bits 0-2  notifier (% 5): 0 non-blocking eventfd, 1 blocking eventfd,
//                            2 blocking eventfd preloaded to 2^64-2 (a full call counter),
//                            3 pipe (kicks write to it), 4 pipe whose write end is closed at
//                            once (hung up)
//                  bits 3-4  memfds: 0 sealed against shrinking and growing (as QEMU's),
//                            1 cannot be sealed (a tmpfs/hugetlbfs file: served, guarded),
//                            2 sealable but left unsealed (must be refused)
//                  bit 5     the notifier is the previous message's notifier again (the same
//                            eventfd as the kick fd of two rings)
//   op % 4 == 1  raw bytes written to the socket as they are
//   op % 4 == 2  kick: signals every notifier sent so far (never blocking here)
//   op % 4 == 3  guest RAM write: u32 offset, then bytes, into the first memfd sent; with
//                op & 0x80 instead: truncate that memfd to u32 offset % kRamSize bytes (after
//                the fact: the device mapped it already; it must not die of SIGBUS)
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "codecs/ffmpeg_backend.h"
#include "tests/fuzz/fuzz_support.h"
#include "vdec/video_device.h"
#include "virtio/device_daemon.h"
#include "virtio/vhost_user_protocol.h"
#include "virtio/vhost_user_server.h"

namespace vdec::fuzz {
namespace {

constexpr size_t kRamSize = 1u << 20;
constexpr auto kDropTimeout = std::chrono::seconds(8);  // libFuzzer's -timeout is 10 s

// The server and its device live for the whole process on their own thread, serving one
// connection per input. Deliberately never destroyed: the thread blocks in run() at exit.
struct Backend {
  sockaddr_un address{};
  socklen_t addressLength = 0;
};

const Backend& backend() {
  static const Backend* instance = [] {
    auto* b = new Backend;
    const std::string name = "vdec-fuzz-" + std::to_string(::getpid());
    b->address.sun_family = AF_UNIX;
    std::memcpy(b->address.sun_path + 1, name.data(), name.size());  // abstract: leading NUL
    b->addressLength = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    UniqueFd listenFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listenFd.isValid() ||
        ::bind(listenFd.get(), reinterpret_cast<sockaddr*>(&b->address), b->addressLength) != 0 ||
        ::listen(listenFd.get(), 1) != 0) {
      fail("cannot listen on the abstract unix socket");
    }
    DeviceConfig config;
    config.decoderThreads = 1;
    auto* device = new virtio::VideoDeviceAdapter(
        std::make_unique<VideoDevice>(config, std::make_shared<codecs::FfmpegBackend>()));
    auto server = virtio::VhostUserServer::adopt(std::move(listenFd), *device);
    if (!server) fail("VhostUserServer::adopt failed");
    std::thread([server = server->release()] {
      auto status = server->run();
      if (!status) fail("the vhost-user server loop ended");
    }).detach();
    return b;
  }();
  return *instance;
}

struct GuestRam {
  UniqueFd fd;
  std::byte* host = nullptr;
  bool truncated = false;  // our own writes would fault: skipped
};

class FrontEnd {
 public:
  FrontEnd() : socket_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    const Backend& b = backend();
    if (!socket_.isValid() ||
        ::connect(socket_.get(), reinterpret_cast<const sockaddr*>(&b.address), b.addressLength) !=
            0) {
      fail("cannot connect to the vhost-user server");
    }
  }
  ~FrontEnd() {
    for (auto& ram : rams_) ::munmap(ram.host, kRamSize);
  }

  void message(uint8_t op, ByteReader& record) {
    const uint8_t kinds = (op & 0x40) ? record.u8() : 0;
    vhost::VhostUserHeader header{};
    header.request = record.u32();
    header.flags = record.u32();
    auto payload = record.bytes(record.remaining());
    header.size = static_cast<uint32_t>(payload.size());
    std::vector<uint8_t> bytes(sizeof(header) + payload.size());
    std::memcpy(bytes.data(), &header, sizeof(header));
    std::memcpy(bytes.data() + sizeof(header), payload.data(), payload.size());

    std::vector<UniqueFd> fds;  // closed after sending, except what we keep below
    for (int i = 0; i < (op >> 2) % 4; ++i) fds.push_back(newRam((kinds >> 3) & 3));
    if (op & 0x10) {
      if ((kinds & 0x20) && lastNotifier_.isValid()) {
        fds.push_back(lastNotifier_.duplicate());
      } else {
        fds.push_back(newNotifier((kinds & 7) % 5));
        lastNotifier_ = fds.back().duplicate();
      }
    }
    if (op & 0x20) {
      int pair[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) fail("socketpair");
      fds.emplace_back(pair[0]);
      ::close(pair[1]);  // back-end requests (object lookups) then fail at once
    }
    if ((op & 0x80) && !fds.empty()) fds.push_back(fds.back().duplicate());
    send(bytes, fds);
  }

  void raw(std::span<const uint8_t> bytes) { send(bytes, {}); }

  // Never blocks: the fds may be blocking (the server makes them non-blocking when it takes
  // them, but that may not have happened yet), so only writes poll() says fit.
  void kick() {
    for (const auto& fd : kicks_) {
      pollfd pfd{fd.get(), POLLOUT, 0};
      if (::poll(&pfd, 1, 0) != 1 || (pfd.revents & POLLOUT) == 0) continue;
      const uint64_t one = 1;
      (void)::write(fd.get(), &one, sizeof(one));
    }
  }

  void ramWrite(uint8_t op, ByteReader& record) {
    const size_t offset = record.u32() % kRamSize;
    auto bytes = record.bytes(record.remaining());
    if (rams_.empty()) return;
    GuestRam& ram = rams_.front();
    if (op & 0x80) {
      // Fails on a sealed memfd, as it should.
      if (::ftruncate(ram.fd.get(), static_cast<off_t>(offset)) == 0) ram.truncated = true;
      return;
    }
    if (ram.truncated) return;
    std::memcpy(ram.host + offset, bytes.data(), std::min(bytes.size(), kRamSize - offset));
  }

  // Closes our side and waits for the server to drop the connection (EOF on our side).
  void hangUp() {
    ::shutdown(socket_.get(), SHUT_WR);
    const auto deadline = std::chrono::steady_clock::now() + kDropTimeout;
    for (;;) {
      readReplies(100);
      char byte;
      const ssize_t n = ::recv(socket_.get(), &byte, 1, MSG_DONTWAIT);
      if (n == 0) return;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return;  // reset by the server
      if (std::chrono::steady_clock::now() > deadline) {
        fail("the server did not drop a closed connection (hang)");
      }
    }
  }

 private:
  // kind: 0 sealed (shrink + grow), 1 cannot be sealed, 2 sealable but unsealed.
  UniqueFd newRam(int kind) {
    const unsigned flags = MFD_CLOEXEC | (kind == 1 ? 0 : MFD_ALLOW_SEALING);
    UniqueFd fd(memfd_create("vdec-fuzz-vhost-ram", flags));
    if (!fd.isValid() || ftruncate(fd.get(), kRamSize) != 0) fail("memfd for guest RAM failed");
    if (kind == 0 && ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
      fail("sealing guest RAM failed");
    }
    void* host = ::mmap(nullptr, kRamSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (host == MAP_FAILED) fail("mmap of guest RAM failed");
    rams_.push_back({fd.duplicate(), static_cast<std::byte*>(host)});
    return fd;
  }

  // kind: 0 non-blocking eventfd, 1 blocking eventfd, 2 blocking eventfd at 2^64-2, 3 pipe,
  // 4 hung-up pipe.
  UniqueFd newNotifier(int kind) {
    if (kind <= 2) {
      UniqueFd fd(::eventfd(0, EFD_CLOEXEC | (kind == 0 ? EFD_NONBLOCK : 0)));
      if (!fd.isValid()) fail("eventfd");
      if (kind == 2 && ::eventfd_write(fd.get(), 0xfffffffffffffffeull) != 0) fail("eventfd_write");
      kicks_.push_back(fd.duplicate());
      return fd;
    }
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC) != 0) fail("pipe");
    UniqueFd readEnd(pipeFds[0]), writeEnd(pipeFds[1]);
    if (kind == 3) kicks_.push_back(std::move(writeEnd));
    return readEnd;
  }

  void send(std::span<const uint8_t> bytes, const std::vector<UniqueFd>& fds) {
    iovec iov{const_cast<uint8_t*>(bytes.data()), bytes.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)]{};  // at most 3 + 1 + 1 + 1
    if (!fds.empty()) {
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      for (size_t i = 0; i < fds.size(); ++i) {
        const int fd = fds[i].get();
        std::memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
      }
    }
    // The server may have dropped us already (protocol error): then sending fails, which is fine.
    while (iov.iov_len > 0) {
      const ssize_t n = ::sendmsg(socket_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        readReplies(10);  // the server may be blocked writing replies we have not read
        continue;
      }
      if (n <= 0) return;
      iov.iov_base = static_cast<uint8_t*>(iov.iov_base) + n;
      iov.iov_len -= static_cast<size_t>(n);
      msg.msg_control = nullptr;  // fds go with the first byte only
      msg.msg_controllen = 0;
    }
    readReplies(0);
  }

  // Reads and discards replies, waiting up to timeoutMs for the first one.
  void readReplies(int timeoutMs) {
    pollfd fd{socket_.get(), POLLIN, 0};
    if (::poll(&fd, 1, timeoutMs) <= 0) return;
    char buffer[4096];
    while (::recv(socket_.get(), buffer, sizeof(buffer), MSG_DONTWAIT | MSG_PEEK) > 0) {
      // Stop at EOF: hangUp() must see it.
      const ssize_t n = ::recv(socket_.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n <= 0) break;
    }
  }

  UniqueFd socket_;
  std::vector<GuestRam> rams_;
  std::vector<UniqueFd> kicks_;
  UniqueFd lastNotifier_;
};

}  // namespace
}  // namespace vdec::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  vdec::fuzz::silenceLogs();
  vdec::fuzz::backend();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vdec::fuzz;
  FrontEnd frontEnd;
  ByteReader in(std::span(data, size));
  while (!in.empty()) {
    const uint8_t op = in.u8();
    ByteReader record(in.bytes(in.u16()));
    switch (op % 4) {
      case 0:
        frontEnd.message(op, record);
        break;
      case 1:
        frontEnd.raw(record.bytes(record.remaining()));
        break;
      case 2:
        frontEnd.kick();
        break;
      case 3:
        frontEnd.ramWrite(op, record);
        break;
    }
  }
  frontEnd.hangUp();
  return 0;
}
