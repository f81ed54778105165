// SPDX-License-Identifier: MIT
#include "codecs/nv12_chroma_writer.h"

#include <vector>

#include "buffers/chroma_interleave.h"

namespace vdec::codecs {

Result<uint64_t> writeNv12Chroma(buffers::ResourceMemory& memory,
                                 const buffers::FrameLayout& layout, const AVFrame& frame) {
  const buffers::PlaneLayout& uv = layout.planes[1];
  const uint32_t chromaWidth = (static_cast<uint32_t>(frame.width) + 1) / 2;
  const uint32_t chromaRows = (static_cast<uint32_t>(frame.height) + 1) / 2;
  if (2ull * chromaWidth > uv.stride || uint64_t{chromaRows} * uv.stride > uv.size ||
      layout.totalSize() > memory.size()) {
    return makeError(ErrorCode::kInvalidParameter, "chroma {}x{} does not fit the layout",
                     chromaWidth, chromaRows);
  }
  std::span<std::byte> mapping = memory.contiguous();
  std::vector<uint8_t> row(2ull * chromaWidth);
  memory.beginCpuAccess();
  for (uint32_t y = 0; y < chromaRows; ++y) {
    const uint8_t* u = frame.data[1] + static_cast<ptrdiff_t>(y) * frame.linesize[1];
    const uint8_t* v = frame.data[2] + static_cast<ptrdiff_t>(y) * frame.linesize[2];
    const uint64_t offset = uv.offset + uint64_t{y} * uv.stride;
    uint8_t* out = mapping.empty() ? row.data() : reinterpret_cast<uint8_t*>(mapping.data() + offset);
    buffers::interleaveUvRow(u, v, out, chromaWidth,
                             mapping.empty() ? buffers::RowStore::kCached
                                             : buffers::RowStore::kStreaming);
    if (mapping.empty()) {
      if (Status written = memory.write(offset, std::as_bytes(std::span(row))); !written) {
        memory.endCpuAccess();
        return makeError(written.error());
      }
    }
  }
  buffers::interleaveFence();
  memory.endCpuAccess();
  return 2ull * chromaWidth * chromaRows;
}

}  // namespace vdec::codecs
