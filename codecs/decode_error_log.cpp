// SPDX-License-Identifier: MIT
#include "codecs/decode_error_log.h"

#include <algorithm>
#include <cstring>
#include <map>

extern "C" {
#include <libavutil/log.h>
}

namespace vdec::codecs {
namespace {

std::mutex& registryMutex() {
  static std::mutex mutex;
  return mutex;
}

std::map<const void*, DecodeErrorLog*>& registry() {
  static std::map<const void*, DecodeErrorLog*> logs;
  return logs;
}

bool isCodecContext(void* avcl) {
  if (avcl == nullptr) return false;
  const AVClass* avClass = *static_cast<const AVClass* const*>(avcl);
  return avClass != nullptr && avClass->class_name != nullptr &&
         std::strcmp(avClass->class_name, "AVCodecContext") == 0;
}

// Side data (SEI) errors say nothing about the picture's pixels.
bool aboutSideData(const char* fmt) {
  return std::strstr(fmt, "SEI") != nullptr || std::strstr(fmt, "sei") != nullptr ||
         std::strstr(fmt, "buffering period") != nullptr;
}

void logCallback(void* avcl, int level, const char* fmt, va_list args) {
  if (level <= AV_LOG_ERROR && fmt != nullptr && isCodecContext(avcl) && !aboutSideData(fmt)) {
    const auto* context = static_cast<const AVCodecContext*>(avcl);
    if (context->reordered_opaque > 0) {
      std::lock_guard lock(registryMutex());
      auto it = registry().find(context->opaque);
      if (it != registry().end()) it->second->record(static_cast<uint64_t>(context->reordered_opaque));
    }
  }
  av_log_default_callback(avcl, level, fmt, args);
}

}  // namespace

DecodeErrorLog::DecodeErrorLog(const void* key) : key_(key) {
  static std::once_flag installed;
  std::call_once(installed, [] { av_log_set_callback(&logCallback); });
  std::lock_guard lock(registryMutex());
  registry()[key_] = this;
}

DecodeErrorLog::~DecodeErrorLog() {
  std::lock_guard lock(registryMutex());
  auto it = registry().find(key_);
  if (it != registry().end() && it->second == this) registry().erase(it);
}

void DecodeErrorLog::record(uint64_t seq) {
  std::lock_guard lock(mutex_);
  if (!erred_.empty() && erred_.back() == seq) return;
  erred_.push_back(seq);
  while (erred_.size() > kRemembered) erred_.pop_front();
}

bool DecodeErrorLog::erred(uint64_t seq) const {
  std::lock_guard lock(mutex_);
  return std::find(erred_.begin(), erred_.end(), seq) != erred_.end();
}

}  // namespace vdec::codecs
