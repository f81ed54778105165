// SPDX-License-Identifier: MIT
#include "vdec/base/logging.h"

#include <memory>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace vdec::logs {
namespace {

spdlog::logger& named(const char* name) {
  // Loggers log to stderr so that stdout stays free for tool output.
  static auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto existing = spdlog::get(name);
  if (existing) return *existing;
  auto logger = std::make_shared<spdlog::logger>(name, sink);
  logger->set_pattern("[%H:%M:%S.%e] [%n] [%^%l%$] %v");
  logger->set_level(spdlog::get_level());
  spdlog::register_logger(logger);
  return *logger;
}

}  // namespace

spdlog::logger& device() { static spdlog::logger& l = named("device"); return l; }
spdlog::logger& codecs() { static spdlog::logger& l = named("codecs"); return l; }
spdlog::logger& buffers() { static spdlog::logger& l = named("buffers"); return l; }
spdlog::logger& virtio() { static spdlog::logger& l = named("virtio"); return l; }
spdlog::logger& harness() { static spdlog::logger& l = named("harness"); return l; }

bool setLevel(std::string_view name) {
  auto level = spdlog::level::from_str(std::string(name));
  if (level == spdlog::level::off && name != "off") return false;
  spdlog::set_level(level);
  device(); codecs(); buffers(); virtio(); harness();
  spdlog::apply_all([level](const std::shared_ptr<spdlog::logger>& l) { l->set_level(level); });
  return true;
}

}  // namespace vdec::logs
