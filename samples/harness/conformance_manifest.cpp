// SPDX-License-Identifier: MIT
// ConformanceManifest: the vector list of a conformance manifest (manifest.tsv) and the
// per-frame md5 side files it points to.
#include "samples/harness/conformance_manifest.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

namespace vdec::harness {

namespace {

std::vector<std::string_view> splitTabs(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
    if (tab == std::string_view::npos) return fields;
    start = tab + 1;
  }
}

bool isHexMd5(std::string_view word) {
  return word.size() == 32 &&
         std::all_of(word.begin(), word.end(), [](unsigned char c) { return std::isxdigit(c); });
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Result<std::string> readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(ErrorCode::kInvalidParameter, "cannot open {}", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string folderOf(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string join(const std::string& folder, const std::string& file) {
  if (file.empty() || file.front() == '/' || folder.empty()) return file;
  return folder.back() == '/' ? folder + file : folder + "/" + file;
}

}  // namespace

Result<ConformanceManifest> ConformanceManifest::parse(std::string_view text,
                                                       const std::string& baseDir) {
  static constexpr std::array<std::string_view, 7> kColumns = {
      "codec", "suite", "name", "file", "pix_fmt", "check", "expected"};
  std::array<size_t, kColumns.size()> index{};
  ConformanceManifest manifest;
  bool haveHeader = false;
  size_t lineNumber = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++lineNumber;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    std::vector<std::string_view> fields = splitTabs(line);
    if (!haveHeader) {
      for (size_t c = 0; c < kColumns.size(); ++c) {
        auto it = std::find(fields.begin(), fields.end(), kColumns[c]);
        if (it == fields.end())
          return makeError(ErrorCode::kInvalidParameter, "manifest header lacks column '{}'",
                           kColumns[c]);
        index[c] = static_cast<size_t>(it - fields.begin());
      }
      haveHeader = true;
      continue;
    }
    size_t needed = *std::max_element(index.begin(), index.end()) + 1;
    if (fields.size() < needed)
      return makeError(ErrorCode::kInvalidParameter, "manifest line {}: {} fields, need {}",
                       lineNumber, fields.size(), needed);
    ConformanceVector vector;
    vector.codec = fields[index[0]];
    vector.suite = fields[index[1]];
    vector.name = fields[index[2]];
    vector.file = join(baseDir, std::string(fields[index[3]]));
    vector.pixFmt = fields[index[4]];
    vector.check = fields[index[5]];
    vector.expected = fields[index[6]];
    if (vector.check != "md5-whole-output" && vector.check != "md5-per-frame")
      return makeError(ErrorCode::kInvalidParameter, "manifest line {}: unknown check '{}'",
                       lineNumber, vector.check);
    manifest.vectors_.push_back(std::move(vector));
  }
  if (!haveHeader) return makeError(ErrorCode::kInvalidParameter, "manifest has no header");
  return manifest;
}

Result<ConformanceManifest> ConformanceManifest::load(const std::string& path) {
  VDEC_ASSIGN_OR_RETURN(std::string text, readText(path));
  auto manifest = parse(text, folderOf(path));
  if (!manifest) return makeError(manifest.error().code, "{}: {}", path, manifest.error().message);
  return manifest;
}

std::string sideFilePath(const ConformanceVector& vector) {
  std::string_view expected = vector.expected;
  size_t start = expected.find_first_not_of(" \t");
  if (start == std::string_view::npos) return {};
  size_t end = expected.find_first_of(" \t", start);
  std::string name(expected.substr(start, end == std::string_view::npos ? end : end - start));
  return join(folderOf(vector.file), name);
}

Result<std::vector<std::string>> parseFrameMd5s(std::string_view text, bool json) {
  std::vector<std::string> md5s;
  if (json) {
    size_t key = text.find("\"md5_checksums\"");
    if (key == std::string_view::npos)
      return makeError(ErrorCode::kInvalidParameter, "json has no \"md5_checksums\"");
    size_t open = text.find('[', key);
    size_t close = open == std::string_view::npos ? open : text.find(']', open);
    if (close == std::string_view::npos)
      return makeError(ErrorCode::kInvalidParameter, "\"md5_checksums\" is not a list");
    std::string_view list = text.substr(open + 1, close - open - 1);
    for (size_t q = list.find('"'); q != std::string_view::npos; q = list.find('"', q)) {
      size_t e = list.find('"', q + 1);
      if (e == std::string_view::npos)
        return makeError(ErrorCode::kInvalidParameter, "unterminated string in md5_checksums");
      std::string_view word = list.substr(q + 1, e - q - 1);
      if (!isHexMd5(word))
        return makeError(ErrorCode::kInvalidParameter, "'{}' in md5_checksums is not an md5", word);
      md5s.push_back(lower(word));
      q = e + 1;
    }
    return md5s;
  }
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.empty() || line.front() == '#') continue;
    // Words are separated by blanks and commas (framehash: "0, 0, 0, 1, 115200, <md5>").
    size_t pos = 0;
    while (pos < line.size()) {
      size_t start = line.find_first_not_of(" \t\r,", pos);
      if (start == std::string_view::npos) break;
      size_t stop = line.find_first_of(" \t\r,", start);
      std::string_view word =
          line.substr(start, stop == std::string_view::npos ? stop : stop - start);
      if (isHexMd5(word)) {
        md5s.push_back(lower(word));
        break;
      }
      pos = stop == std::string_view::npos ? line.size() : stop;
    }
  }
  return md5s;
}

Result<std::vector<std::string>> loadFrameMd5s(const std::string& path) {
  VDEC_ASSIGN_OR_RETURN(std::string text, readText(path));
  bool json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  auto md5s = parseFrameMd5s(text, json);
  if (!md5s) return makeError(md5s.error().code, "{}: {}", path, md5s.error().message);
  if (md5s->empty()) return makeError(ErrorCode::kInvalidParameter, "{}: no md5s", path);
  return md5s;
}

}  // namespace vdec::harness
