// SPDX-License-Identifier: MIT
// One named spdlog logger per module (like libcamera's log categories).
#pragma once

#include <string_view>

#include <spdlog/spdlog.h>

namespace vdec::logs {

spdlog::logger& device();   // vdec/: commands, streams, events
spdlog::logger& codecs();   // codecs/: decoder backends
spdlog::logger& buffers();  // buffers/: guest memory, dma-bufs, zero-copy decisions
spdlog::logger& virtio();   // virtio/: virtqueues, vhost-user
spdlog::logger& harness();  // samples/: the harness and benchmark

// Sets the level of every module logger; returns false for an unknown name.
// Names: trace, debug, info, warn, error, critical, off.
bool setLevel(std::string_view name);

}  // namespace vdec::logs
