// SPDX-License-Identifier: MIT
// VaBufferMapping: a VA buffer mapped into this process (vaMapBuffer / vaUnmapBuffer).
#pragma once

#include <memory>

#include <va/va.h>

#include "buffers/va_display.h"
#include "vdec/base/result.h"

namespace vdec::buffers {

// Move-only; unmaps on destruction. Holds the display; the buffer itself must outlive the
// mapping (VaImage declares its mapping after the image for that reason).
class VaBufferMapping {
 public:
  static Result<VaBufferMapping> map(std::shared_ptr<VaDisplay> display, VABufferID buffer);

  VaBufferMapping() = default;
  VaBufferMapping(VaBufferMapping&& other) noexcept;
  VaBufferMapping& operator=(VaBufferMapping&& other) noexcept;
  VaBufferMapping(const VaBufferMapping&) = delete;
  VaBufferMapping& operator=(const VaBufferMapping&) = delete;
  ~VaBufferMapping() { reset(); }

  [[nodiscard]] const uint8_t* data() const { return data_; }
  void reset();

 private:
  std::shared_ptr<VaDisplay> display_;
  VABufferID buffer_ = VA_INVALID_ID;
  const uint8_t* data_ = nullptr;
};

}  // namespace vdec::buffers
