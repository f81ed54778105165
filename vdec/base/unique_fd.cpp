// SPDX-License-Identifier: MIT
#include "vdec/base/unique_fd.h"

#include <fcntl.h>
#include <unistd.h>

namespace vdec {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}

UniqueFd UniqueFd::duplicate() const {
  if (fd_ < 0) return UniqueFd();
  return UniqueFd(::fcntl(fd_, F_DUPFD_CLOEXEC, 0));
}

}  // namespace vdec
