// SPDX-License-Identifier: MIT
#include "tests/integration/process_stats.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace vdec::testing {

ProcessStats readProcessStats(pid_t pid) {
  ProcessStats stats;
  const std::string base = "/proc/" + std::to_string(pid);
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(base + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); ++it) {
    ++stats.openFds;
  }
  for (auto it = std::filesystem::directory_iterator(base + "/task", ec);
       !ec && it != std::filesystem::directory_iterator(); ++it) {
    ++stats.threads;
  }
  std::ifstream status(base + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) stats.rssKiB = std::stoull(line.substr(6));
  }
  std::ifstream maps(base + "/maps");
  for (std::string line; std::getline(maps, line);) ++stats.mappings;
  return stats;
}

std::vector<ThreadScheduling> readThreadScheduling(pid_t pid) {
  std::vector<ThreadScheduling> threads;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec);
       !ec && it != std::filesystem::directory_iterator(); ++it) {
    std::ifstream in(it->path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The name (field 2) may hold spaces and parentheses: fields 3 on follow the last ')'.
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::vector<std::string> values;
    for (std::string value; fields >> value;) values.push_back(value);
    if (values.size() < 39) continue;  // values[0] is field 3
    threads.push_back({static_cast<pid_t>(std::stol(it->path().filename().string())),
                       std::stoi(values[19 - 3]), std::stoi(values[41 - 3])});
  }
  return threads;
}

}  // namespace vdec::testing
