// SPDX-License-Identifier: MIT
// ObjectExporter: the harness's virtio-gpu stand-in; hands out UUIDs for buffers and answers
// the device's SHARED_OBJECT_LOOKUP on the vhost-user back-end channel.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <thread>

#include "vdec/base/mapped_region.h"
#include "vdec/base/result.h"
#include "vdec/base/unique_fd.h"

namespace vdec::harness {

using Uuid = std::array<uint8_t, 16>;

// A buffer the exporter owns. `bytes` stays valid until release(uuid) or the exporter dies.
struct ExportedObject {
  Uuid uuid{};
  uint64_t size = 0;           // page-aligned allocation size
  std::span<std::byte> bytes;  // our mapping of it
  int fd = -1;                 // borrowed: the fd handed to the device (dma-buf or memfd)
  bool isDmaBuf = false;       // true: a udmabuf made from a sealed memfd; false: the memfd
};

// How LOOKUP of a known UUID is answered.
enum class LookupMode {
  kCorrect,  // {req 8, flags 0x5, size 8, u64 0} with the fd in SCM_RIGHTS
  kQemu102,  // QEMU 10.2.0's bug: u64 0 and no fd (vhost-user.md §2.4)
  kSilent,   // never answers (a hung or hostile front-end)
};

// allocate()/release() run on the caller's thread; the channel is served on an internal thread
// started by serve(). The object table is shared under a mutex. The destructor wakes and joins
// the thread, then frees every object.
class ObjectExporter {
 public:
  static Result<std::unique_ptr<ObjectExporter>> create();
  ~ObjectExporter();
  ObjectExporter(const ObjectExporter&) = delete;
  ObjectExporter& operator=(const ObjectExporter&) = delete;

  // Creates a shared buffer of at least `bytes` with a fresh random v4 UUID: a dma-buf through
  // /dev/udmabuf when that device exists, else a memfd.
  Result<ExportedObject> allocate(uint64_t bytes);
  // Hostile-front-end tests: a memfd made without MFD_ALLOW_SEALING (it can never be sealed,
  // like a tmpfs file), exported as it is, which truncate() can then shrink under the device.
  Result<ExportedObject> allocateUnsealable(uint64_t bytes);
  // Truncates the object's memfd to `bytes` after the fact; false if unknown or sealed. The
  // object's `bytes` span must not be touched past the new size afterwards.
  bool truncate(const Uuid& uuid, uint64_t bytes);
  // Forgets the UUID (later lookups answer 1) and unmaps our view; false if unknown.
  bool release(const Uuid& uuid);
  bool usesDmaBuf() const { return udmabuf_.isValid(); }

  // Serves the back-end channel (our end of SET_BACKEND_REQ_FD) until the peer closes it or
  // the exporter is destroyed. At most once.
  Status serve(UniqueFd channel);
  void setLookupMode(LookupMode mode) { mode_.store(mode); }
  uint64_t lookups() const { return lookups_.load(); }  // LOOKUP requests answered

 private:
  struct Object {
    UniqueFd memfd;
    UniqueFd exported;  // the dma-buf; invalid when the memfd itself is exported
    MappedRegion mapping;
  };
  ObjectExporter() = default;
  Result<ExportedObject> allocateObject(uint64_t bytes, bool sealable);
  void run();
  // Handles one message; false when the channel is gone.
  bool handleOne();

  UniqueFd udmabuf_;
  UniqueFd wake_;     // eventfd: tells the thread to exit
  UniqueFd channel_;  // touched only by the thread once serve() started it
  std::thread thread_;
  std::mutex mutex_;
  std::map<Uuid, Object> objects_;  // guarded by mutex_
  std::atomic<LookupMode> mode_{LookupMode::kCorrect};
  std::atomic<uint64_t> lookups_{0};
};

}  // namespace vdec::harness
