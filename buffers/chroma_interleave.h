// SPDX-License-Identifier: MIT
// The NV12 chroma interleave (planar U and V rows into one UV row), vectorised: the one CPU
// cost of NV12 output that a planar software decoder cannot decode into directly.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vdec::buffers {

// Where the interleaved row goes.
enum class RowStore {
  kCached,     // a scratch row read back at once
  kStreaming,  // the guest's buffer: bypasses the cache (non-temporal) where `out` is 16-byte
               // aligned, which keeps the decoder's reference pictures in cache; call
               // interleaveFence() after the last row, before the picture is handed over
};

// out[2x] = u[x], out[2x + 1] = v[x] for x < width. `out` must not overlap u or v; any
// alignment. With SSE2, 16 pixels per step, the rest one by one.
void interleaveUvRow(const uint8_t* u, const uint8_t* v, uint8_t* out, size_t width,
                     RowStore store);

// Orders the non-temporal stores of interleaveUvRow before anything that follows (a no-op
// without SSE2).
void interleaveFence();

}  // namespace vdec::buffers
