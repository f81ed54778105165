// SPDX-License-Identifier: MIT
#include "buffers/va_buffer_mapping.h"

#include <utility>

#include "vdec/base/logging.h"

namespace vdec::buffers {

Result<VaBufferMapping> VaBufferMapping::map(std::shared_ptr<VaDisplay> display,
                                             VABufferID buffer) {
  void* data = nullptr;
  if (VAStatus status = vaMapBuffer(display->get(), buffer, &data); status != VA_STATUS_SUCCESS) {
    return makeError(ErrorCode::kBackendFailure, "buffer {:#x}: {}", buffer,
                     vaCallError("vaMapBuffer()", status));
  }
  VaBufferMapping mapping;
  mapping.display_ = std::move(display);
  mapping.buffer_ = buffer;
  mapping.data_ = static_cast<const uint8_t*>(data);
  return mapping;
}

VaBufferMapping::VaBufferMapping(VaBufferMapping&& other) noexcept
    : display_(std::move(other.display_)),
      buffer_(std::exchange(other.buffer_, VA_INVALID_ID)),
      data_(std::exchange(other.data_, nullptr)) {}

VaBufferMapping& VaBufferMapping::operator=(VaBufferMapping&& other) noexcept {
  if (this != &other) {
    reset();
    display_ = std::move(other.display_);
    buffer_ = std::exchange(other.buffer_, VA_INVALID_ID);
    data_ = std::exchange(other.data_, nullptr);
  }
  return *this;
}

void VaBufferMapping::reset() {
  if (buffer_ != VA_INVALID_ID && display_) {
    if (VAStatus status = vaUnmapBuffer(display_->get(), buffer_); status != VA_STATUS_SUCCESS) {
      logs::buffers().warn("va: buffer {:#x}: {}", buffer_, vaCallError("vaUnmapBuffer()", status));
    }
  }
  buffer_ = VA_INVALID_ID;
  data_ = nullptr;
  display_.reset();
}

}  // namespace vdec::buffers
