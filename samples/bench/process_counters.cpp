// SPDX-License-Identifier: MIT
#include "samples/bench/process_counters.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vdec::bench {

namespace {

std::string readAll(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The value after "name:" in a /proc status file, 0 when missing.
uint64_t statusField(const std::string& text, const std::string& name) {
  const size_t at = text.find(name + ":");
  if (at == std::string::npos) return 0;
  return std::stoull(text.substr(at + name.size() + 1));
}

}  // namespace

Result<ProcessCounters> readProcessCounters(pid_t pid) {
  const std::filesystem::path proc = "/proc/" + std::to_string(pid);
  const std::string stat = readAll(proc / "stat");
  // Fields after the command name (which may hold spaces) start at field 3 (state); minflt is
  // field 10, utime and stime fields 14 and 15.
  const auto close = stat.rfind(')');
  if (close == std::string::npos)
    return makeError(ErrorCode::kBackendFailure, "cannot read /proc/{}/stat", pid);
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  ProcessCounters counters;
  for (int index = 3; fields >> field && index <= 15; ++index) {
    if (index == 10) counters.minorFaults = std::stoull(field);
    if (index == 14) utime = std::stoull(field);
    if (index == 15) stime = std::stoull(field);
  }
  counters.cpuSeconds = double(utime + stime) / double(sysconf(_SC_CLK_TCK));
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator(proc / "task", error)) {
    const std::string status = readAll(task.path() / "status");
    counters.contextSwitches += statusField(status, "voluntary_ctxt_switches") +
                                statusField(status, "nonvoluntary_ctxt_switches");
  }
  return counters;
}

ProcessCounters selfCounters() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  ProcessCounters counters;
  counters.cpuSeconds = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  counters.minorFaults = static_cast<uint64_t>(usage.ru_minflt);
  counters.contextSwitches = static_cast<uint64_t>(usage.ru_nvcsw + usage.ru_nivcsw);
  return counters;
}

ProcessCounters operator-(const ProcessCounters& after, const ProcessCounters& before) {
  // Context switches of threads that exited in between are gone from `after`: never below 0.
  auto since = [](uint64_t a, uint64_t b) { return a > b ? a - b : 0; };
  return {after.cpuSeconds - before.cpuSeconds, since(after.minorFaults, before.minorFaults),
          since(after.contextSwitches, before.contextSwitches)};
}

}  // namespace vdec::bench
