// SPDX-License-Identifier: MIT
// Reading conformance data in codec tests: whole files, per-frame md5 lists, IVF frames.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vdec::codecs::testing {

std::vector<uint8_t> readFile(const std::string& path);  // empty if unreadable

// The "md5_checksums" array of a Chromium test-data JSON file (minimal parsing).
std::vector<std::string> readMd5Checksums(const std::string& jsonPath);

// The frames of an IVF file (32-byte file header, then a 12-byte header before each frame);
// a truncated frame at the end is dropped.
std::vector<std::vector<uint8_t>> ivfFrames(const std::vector<uint8_t>& file);

// Splits bytes into chunks of `chunkSize` (the whole input as one chunk when 0).
std::vector<std::vector<uint8_t>> chunks(const std::vector<uint8_t>& bytes, size_t chunkSize);

}  // namespace vdec::codecs::testing
