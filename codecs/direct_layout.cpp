// SPDX-License-Identifier: MIT
#include "codecs/direct_layout.h"

#include <algorithm>
#include <bit>

#include "codecs/av_ptr.h"
#include "codecs/ffmpeg_format.h"

extern "C" {
#include <libavutil/cpu.h>
}

namespace vdec::codecs {

DecoderAlignment decoderAlignment(AVCodecID codec, int pixelFormat, uint32_t codedWidth,
                                  uint32_t codedHeight) {
  DecoderAlignment alignment;
  alignment.codedWidth = codedWidth;
  alignment.codedHeight = codedHeight;
  alignment.pixelFormat = pixelFormat;
  AvCodecContextPtr context(avcodec_alloc_context3(findSoftwareDecoder(codec)));
  const uint32_t cpuAlign = static_cast<uint32_t>(av_cpu_max_align());
  if (!context) {
    alignment.lineAlign = std::max(64u, cpuAlign);
    alignment.alignedWidth = codedWidth;
    alignment.alignedHeight = codedHeight;
    return alignment;
  }
  context->codec_id = codec;
  context->pix_fmt = pixelFormat == AV_PIX_FMT_YUVJ420P ? AV_PIX_FMT_YUVJ420P : AV_PIX_FMT_YUV420P;
  int lineAlign[AV_NUM_DATA_POINTERS] = {};
  int width = static_cast<int>(codedWidth);
  int height = static_cast<int>(codedHeight);
  avcodec_align_dimensions2(context.get(), &width, &height, lineAlign);
  int one = 1;
  int minHeight = 1;
  int unused[AV_NUM_DATA_POINTERS] = {};
  avcodec_align_dimensions2(context.get(), &one, &minHeight, unused);
  uint32_t align = cpuAlign;
  for (int i = 0; i < 3; ++i) align = std::max(align, static_cast<uint32_t>(lineAlign[i]));
  alignment.lineAlign = std::bit_ceil(std::max(align, 16u));
  alignment.alignedWidth = static_cast<uint32_t>(width);
  alignment.alignedHeight = static_cast<uint32_t>(height);
  // The alignment of a height of 1 is h_align, plus rows some codecs read below it (H.264: 2).
  alignment.heightAlign = std::max(2u, std::bit_floor(static_cast<uint32_t>(minHeight)));
  const uint64_t aligned =
      (uint64_t{codedHeight} + alignment.heightAlign - 1) / alignment.heightAlign *
      alignment.heightAlign;
  alignment.extraRows =
      alignment.alignedHeight > aligned ? static_cast<uint32_t>(alignment.alignedHeight - aligned)
                                        : 0;
  return alignment;
}

uint32_t layoutStrideAlign(const DecoderAlignment& alignment) { return 2 * alignment.lineAlign; }

bool layoutFitsDecoder(const buffers::FrameLayout& layout, const DecoderAlignment& alignment) {
  if (layout.width != alignment.codedWidth || layout.height < alignment.alignedHeight) return false;
  const buffers::PlaneLayout& luma = layout.planes[0];
  if (luma.stride < alignment.alignedWidth || luma.stride % alignment.lineAlign != 0 ||
      luma.offset % alignment.lineAlign != 0 ||
      uint64_t{luma.stride} * alignment.alignedHeight > luma.size) {
    return false;
  }
  if (layout.format == buffers::PixelFormat::kNv12) return layout.numPlanes == 2;
  if (layout.numPlanes != 3) return false;
  const uint32_t chromaWidth = (alignment.alignedWidth + 1) / 2;
  const uint32_t chromaRows = (alignment.alignedHeight + 1) / 2;
  for (int i = 1; i < 3; ++i) {
    const buffers::PlaneLayout& plane = layout.planes[i];
    if (plane.stride < chromaWidth || plane.stride % alignment.lineAlign != 0 ||
        plane.offset % alignment.lineAlign != 0 ||
        uint64_t{plane.stride} * chromaRows > plane.size) {
      return false;
    }
  }
  return true;
}

}  // namespace vdec::codecs
