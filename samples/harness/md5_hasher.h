// SPDX-License-Identifier: MIT
// Md5Hasher: incremental MD5 (libavutil av_md5) with a hex digest, for frame checksums.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

struct AVMD5;

namespace vdec::harness {

// Feed bytes with update(), read the digest with hexDigest(); the hasher can keep being fed
// afterwards (the digest is computed on a copy of the state). Threads: one owner thread.
class Md5Hasher {
 public:
  Md5Hasher();
  ~Md5Hasher();
  Md5Hasher(Md5Hasher&& other) noexcept;
  Md5Hasher& operator=(Md5Hasher&& other) noexcept;

  void update(std::span<const std::byte> bytes);
  void reset();
  std::string hexDigest() const;  // 32 lowercase hex digits

  static std::string of(std::span<const std::byte> bytes);

 private:
  struct Deleter {
    void operator()(AVMD5* md5) const;
  };
  std::unique_ptr<AVMD5, Deleter> md5_;
};

}  // namespace vdec::harness
