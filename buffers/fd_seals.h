// SPDX-License-Identifier: MIT
// Whether a shared fd can shrink under a mapping of it (and so raise SIGBUS in this process).
#pragma once

#include "vdec/base/result.h"

namespace vdec::buffers {

// The policy for every fd the device maps, applied when it is mapped. True: the fd cannot lose
// pages under a mapping, CPU access is safe as is:
//  - an fd that carries F_SEAL_SHRINK;
//  - a dma-buf: its size is fixed when it is exported and nobody can truncate it (a udmabuf
//    pins its pages, and needs a memfd sealed against shrinking to be made at all).
// Otherwise:
//  - a memfd that could still be sealed (F_SEAL_SEAL not set) but is not sealed against
//    shrinking: kInvalidParameter. The front-end can and must seal it (QEMU:
//    memory-backend-memfd with its default seal=on; crosvm seals guest memory itself);
//  - an fd that cannot carry that seal (a memfd made without MFD_ALLOW_SEALING, a tmpfs or
//    hugetlbfs file, a file elsewhere): false. It is accepted, but every CPU access
//    to it must go through buffers/sigbus_guard.h, and nothing may map it for a third party
//    that cannot be guarded (direct rendering by the decoder).
// `what` names the fd in the error ("memory region gpa 0x0").
Result<bool> checkShrinkSeal(int fd, const char* what);

// The fd is a dma-buf (its /proc fdinfo names an exporter).
bool isDmaBufFd(int fd);

}  // namespace vdec::buffers
