#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job: builds vdec, starts the vdec-device daemon on a fresh socket, decodes the
# embedded sample bitstream through it with the harness (real vhost-user, real vrings), prints
# a summary and writes a PNG of one decoded frame (default: vdec-demo.png in the current folder).
# Usage: samples/scripts/demo.sh [PNG_FILE]
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build="$top/build"
png=$(realpath -m "${1:-vdec-demo.png}")
"$top/samples/scripts/setup.sh" "$build"

workdir=$(mktemp -d)
socket="$workdir/vdec.sock"
"$build/virtio/vdec-device" --socket-path "$socket" --log-level warn &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null; rm -rf "$workdir"' EXIT

"$build/samples/vdec-harness" --socket-path "$socket" decode \
  "$top/samples/data/testsrc2-320x180.h264" --memory sg --output-format nv12 \
  --png "$png" --png-frame 30
echo "wrote $png"
