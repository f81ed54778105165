// SPDX-License-Identifier: MIT
// UniqueFd: the one owner of a file descriptor.
#pragma once

#include <utility>

namespace vdec {

// Move-only owner of an fd; closes it on destruction. Model: libcamera UniqueFD.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool isValid() const { return fd_ >= 0; }
  [[nodiscard]] int release() { return std::exchange(fd_, -1); }  // caller now owns it
  void reset(int fd = -1);
  // Returns a new owner of a dup()ed descriptor (CLOEXEC), or an invalid one on failure.
  [[nodiscard]] UniqueFd duplicate() const;

 private:
  int fd_ = -1;
};

}  // namespace vdec
