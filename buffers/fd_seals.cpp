// SPDX-License-Identifier: MIT
#include "buffers/fd_seals.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace vdec::buffers {

bool isDmaBufFd(int fd) {
  std::ifstream info("/proc/self/fdinfo/" + std::to_string(fd));
  std::string line;
  while (std::getline(info, line)) {
    if (line.starts_with("exp_name:")) return true;
  }
  return false;
}

Result<bool> checkShrinkSeal(int fd, const char* what) {
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0) return isDmaBufFd(fd);  // EINVAL: no seals on this kind of file
  if ((seals & F_SEAL_SHRINK) != 0) return true;
  if ((seals & F_SEAL_SEAL) == 0) {
    return makeError(ErrorCode::kInvalidParameter,
                     "{}: memfd is not sealed against shrinking; add F_SEAL_SHRINK (QEMU: "
                     "memory-backend-memfd with seal=on) or a truncation would crash the device",
                     what);
  }
  return false;  // cannot be sealed any more: usable through guarded access only
}

}  // namespace vdec::buffers
