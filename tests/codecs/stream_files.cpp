// SPDX-License-Identifier: MIT
#include "tests/codecs/stream_files.h"

#include <algorithm>
#include <fstream>
#include <iterator>

namespace vdec::codecs::testing {
namespace {

uint32_t readLe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

}  // namespace

std::vector<uint8_t> readFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return {};
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

std::vector<std::string> readMd5Checksums(const std::string& jsonPath) {
  const std::vector<uint8_t> bytes = readFile(jsonPath);
  const std::string text(bytes.begin(), bytes.end());
  std::vector<std::string> result;
  size_t pos = text.find("\"md5_checksums\"");
  if (pos == std::string::npos) return result;
  pos = text.find('[', pos);
  const size_t end = text.find(']', pos);
  if (pos == std::string::npos || end == std::string::npos) return result;
  while (true) {
    const size_t open = text.find('"', pos + 1);
    if (open == std::string::npos || open > end) break;
    const size_t close = text.find('"', open + 1);
    if (close == std::string::npos || close > end) break;
    result.push_back(text.substr(open + 1, close - open - 1));
    pos = close;
  }
  return result;
}

std::vector<std::vector<uint8_t>> ivfFrames(const std::vector<uint8_t>& file) {
  std::vector<std::vector<uint8_t>> frames;
  if (file.size() < 32 || file[0] != 'D' || file[1] != 'K' || file[2] != 'I' || file[3] != 'F') {
    return frames;
  }
  size_t offset = static_cast<size_t>(file[6]) | static_cast<size_t>(file[7]) << 8;
  while (offset + 12 <= file.size()) {
    const size_t size = readLe32(&file[offset]);
    offset += 12;
    if (size > file.size() - offset) break;
    frames.emplace_back(file.begin() + static_cast<ptrdiff_t>(offset),
                        file.begin() + static_cast<ptrdiff_t>(offset + size));
    offset += size;
  }
  return frames;
}

std::vector<std::vector<uint8_t>> chunks(const std::vector<uint8_t>& bytes, size_t chunkSize) {
  if (chunkSize == 0) return {bytes};
  std::vector<std::vector<uint8_t>> result;
  for (size_t offset = 0; offset < bytes.size(); offset += chunkSize) {
    const size_t size = std::min(chunkSize, bytes.size() - offset);
    result.emplace_back(bytes.begin() + static_cast<ptrdiff_t>(offset),
                        bytes.begin() + static_cast<ptrdiff_t>(offset + size));
  }
  return result;
}

}  // namespace vdec::codecs::testing
