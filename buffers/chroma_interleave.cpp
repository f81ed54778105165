// SPDX-License-Identifier: MIT
// NV12 chroma interleave, SSE2 with a scalar tail (see chroma_interleave.h).
#include "buffers/chroma_interleave.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#else
#include <cstdint>
#endif

namespace vdec::buffers {

void interleaveUvRow(const uint8_t* u, const uint8_t* v, uint8_t* out, size_t width,
                     RowStore store) {
  size_t x = 0;
#if defined(__SSE2__)
  const bool aligned =
      store == RowStore::kStreaming && (reinterpret_cast<uintptr_t>(out) & 15) == 0;
  for (; x + 16 <= width; x += 16) {
    const __m128i us = _mm_loadu_si128(reinterpret_cast<const __m128i*>(u + x));
    const __m128i vs = _mm_loadu_si128(reinterpret_cast<const __m128i*>(v + x));
    auto* dst = reinterpret_cast<__m128i*>(out + 2 * x);
    if (aligned) {
      _mm_stream_si128(dst, _mm_unpacklo_epi8(us, vs));
      _mm_stream_si128(dst + 1, _mm_unpackhi_epi8(us, vs));
    } else {
      _mm_storeu_si128(dst, _mm_unpacklo_epi8(us, vs));
      _mm_storeu_si128(dst + 1, _mm_unpackhi_epi8(us, vs));
    }
  }
#endif
  for (; x < width; ++x) {
    out[2 * x] = u[x];
    out[2 * x + 1] = v[x];
  }
}

void interleaveFence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

}  // namespace vdec::buffers
