// SPDX-License-Identifier: MIT
#include "tests/integration/process_stats.h"

#include <filesystem>
#include <fstream>
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

}  // namespace vdec::testing
