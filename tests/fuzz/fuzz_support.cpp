// SPDX-License-Identifier: MIT
#include "tests/fuzz/fuzz_support.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

extern "C" {
#include <libavutil/log.h>
}

#include "vdec/base/logging.h"

namespace vdec::fuzz {

void fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

uint8_t ByteReader::u8() {
  if (data_.empty()) return 0;
  uint8_t value = data_.front();
  data_ = data_.subspan(1);
  return value;
}

// Operands of | are unsequenced: read the low part first, explicitly.
uint16_t ByteReader::u16() {
  uint16_t low = u8();
  return static_cast<uint16_t>(low | (u8() << 8));
}

uint32_t ByteReader::u32() {
  uint32_t low = u16();
  return low | (static_cast<uint32_t>(u16()) << 16);
}

uint64_t ByteReader::u64() {
  uint64_t low = u32();
  return low | (static_cast<uint64_t>(u32()) << 32);
}

std::span<const uint8_t> ByteReader::bytes(size_t count) {
  count = std::min(count, data_.size());
  auto out = data_.first(count);
  data_ = data_.subspan(count);
  return out;
}

void FuzzGuestMemory::clear() const {
  for (const auto& region : memory->regions()) {
    // A big sparse region (4 GiB, for huge indirect tables) is emptied, not written over.
    if (region.size > (16u << 20) &&
        ::fallocate(region.fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(region.mmapOffset), static_cast<off_t>(region.size)) == 0) {
      continue;
    }
    auto bytes = memory->translate(buffers::GuestAddress{region.guestPhysAddr}, region.size);
    if (bytes) std::memset(bytes->data(), 0, bytes->size());
  }
}

bool FuzzGuestMemory::contains(const std::byte* p, size_t n) const {
  const auto address = reinterpret_cast<uintptr_t>(p);
  for (const auto& region : memory->regions()) {
    auto bytes = memory->translate(buffers::GuestAddress{region.guestPhysAddr}, region.size);
    if (!bytes) continue;
    const auto start = reinterpret_cast<uintptr_t>(bytes->data());
    if (address >= start && n <= bytes->size() && address - start <= bytes->size() - n) {
      return true;
    }
  }
  return false;
}

namespace {

UniqueFd makeMemfd(uint64_t size) {
  int fd = memfd_create("vdec-fuzz-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(size)) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
    fail("memfd for guest RAM failed");
  }
  return UniqueFd(fd);
}

}  // namespace

FuzzGuestMemory makeFuzzGuestMemory(uint64_t size, uint64_t base, uint64_t extraSize) {
  std::vector<buffers::GuestMemoryRegionSpec> specs;
  specs.push_back({base, size, base + FuzzGuestMemory::kUserOffset, 0, makeMemfd(size)});
  if (extraSize != 0) {
    const uint64_t extraBase = base + size;
    specs.push_back(
        {extraBase, extraSize, extraBase + FuzzGuestMemory::kUserOffset, 0, makeMemfd(extraSize)});
  }
  auto memory = buffers::GuestMemory::create(std::move(specs));
  if (!memory) fail("GuestMemory::create failed");
  auto host = (*memory)->translate(buffers::GuestAddress{base}, size);
  if (!host) fail("guest RAM does not translate");
  return {*memory, host->data(), base, size};
}

void silenceLogs() {
  // VDEC_FUZZ_LOG=debug (or any spdlog level) brings the device logs back for triage.
  const char* level = std::getenv("VDEC_FUZZ_LOG");
  if (level == nullptr || !logs::setLevel(level)) logs::setLevel("off");
  av_log_set_level(level != nullptr ? AV_LOG_WARNING : AV_LOG_QUIET);
}

}  // namespace vdec::fuzz
