// SPDX-License-Identifier: MIT
// Md5Hasher: incremental MD5 (libavutil av_md5) with a hex digest, for frame checksums.
#include "samples/harness/md5_hasher.h"

#include <array>
#include <cstring>

extern "C" {
#include <libavutil/md5.h>
#include <libavutil/mem.h>
}

#include "vdec/base/result.h"

namespace vdec::harness {

void Md5Hasher::Deleter::operator()(AVMD5* md5) const { av_free(md5); }

Md5Hasher::Md5Hasher() : md5_(av_md5_alloc()) {
  VDEC_CHECK(md5_ != nullptr);
  av_md5_init(md5_.get());
}

Md5Hasher::~Md5Hasher() = default;
Md5Hasher::Md5Hasher(Md5Hasher&& other) noexcept = default;
Md5Hasher& Md5Hasher::operator=(Md5Hasher&& other) noexcept = default;

void Md5Hasher::update(std::span<const std::byte> bytes) {
  av_md5_update(md5_.get(), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

void Md5Hasher::reset() { av_md5_init(md5_.get()); }

std::string Md5Hasher::hexDigest() const {
  // av_md5_final destroys the running state: finish a copy. AVMD5 is opaque, so copy its
  // bytes using the size libavutil exports.
  std::unique_ptr<AVMD5, Deleter> copy(av_md5_alloc());
  VDEC_CHECK(copy != nullptr);
  std::memcpy(copy.get(), md5_.get(), av_md5_size);
  std::array<uint8_t, 16> digest{};
  av_md5_final(copy.get(), digest.data());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string Md5Hasher::of(std::span<const std::byte> bytes) {
  Md5Hasher hasher;
  hasher.update(bytes);
  return hasher.hexDigest();
}

}  // namespace vdec::harness
