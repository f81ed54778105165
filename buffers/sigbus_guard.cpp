// SPDX-License-Identifier: MIT
#include "buffers/sigbus_guard.h"

#include <setjmp.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace vdec::buffers {
namespace {

// Set while this thread is inside a guarded access; the handler jumps back through it.
// Trivially-typed static TLS: readable from a signal handler without allocation.
thread_local sigjmp_buf* tlsJump = nullptr;

struct sigaction gPrevious {};
std::once_flag gInstallOnce;
std::atomic<uint64_t> gFaults{0};

void onSigbus(int sig, siginfo_t* info, void* context) {
  if (sigjmp_buf* jump = tlsJump) {
    tlsJump = nullptr;
    gFaults.fetch_add(1, std::memory_order_relaxed);
    siglongjmp(*jump, 1);
  }
  // Not a guarded access: hand it to whoever had SIGBUS before (a sanitizer, or the default
  // action). Returning re-executes the faulting instruction under that disposition.
  if ((gPrevious.sa_flags & SA_SIGINFO) != 0 && gPrevious.sa_sigaction != nullptr) {
    gPrevious.sa_sigaction(sig, info, context);
    return;
  }
  if (gPrevious.sa_handler != SIG_DFL && gPrevious.sa_handler != SIG_IGN &&
      gPrevious.sa_handler != nullptr) {
    gPrevious.sa_handler(sig);
    return;
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(SIGBUS, &dfl, nullptr);
}

void install() {
  struct sigaction action {};
  action.sa_sigaction = onSigbus;
  // SA_NODEFER: SIGBUS stays unblocked after the siglongjmp (we do not save/restore the signal
  // mask, which would cost a system call per access).
  action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGBUS, &action, &gPrevious);
}

// Runs access() with the guard armed. The lambda must not own objects with destructors: a
// fault leaves it by siglongjmp.
template <typename Access>
bool guarded(Access access) noexcept {
  std::call_once(gInstallOnce, install);
  sigjmp_buf jump;
  if (sigsetjmp(jump, 0) != 0) return false;  // the handler cleared tlsJump
  tlsJump = &jump;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  access();
  std::atomic_signal_fence(std::memory_order_seq_cst);
  tlsJump = nullptr;
  return true;
}

}  // namespace

bool guardedCopy(void* dst, const void* src, size_t n) noexcept {
  if (n == 0) return true;
  return guarded([dst, src, n] { std::memcpy(dst, src, n); });
}

bool guardedLoad16(const void* p, uint16_t* value) noexcept {
  return guarded(
      [p, value] { *value = __atomic_load_n(static_cast<const uint16_t*>(p), __ATOMIC_ACQUIRE); });
}

bool guardedStore16(void* p, uint16_t value) noexcept {
  return guarded(
      [p, value] { __atomic_store_n(static_cast<uint16_t*>(p), value, __ATOMIC_RELEASE); });
}

void installSigbusGuard() { std::call_once(gInstallOnce, install); }

uint64_t guardedFaults() { return gFaults.load(std::memory_order_relaxed); }

}  // namespace vdec::buffers
