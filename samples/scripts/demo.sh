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

# As a player does, the guest allocates the capture buffers the device asks for once the format
# is known (--output-buffers 0): the device then decodes straight into guest memory. I420 is
# laid out as libavcodec decodes, so nothing is copied; the stats say how it went.
"$build/samples/vdec-harness" --socket-path "$socket" decode \
  "$top/samples/data/testsrc2-320x180.h264" --memory sg --output-format i420 \
  --output-buffers 0 --stats --png "$png" --png-frame 30 \
  --expect-md5 "$top/samples/data/testsrc2-320x180.h264.md5" | tee "$workdir/summary.txt"
grep -q "^bounce_frames 0$" "$workdir/summary.txt" ||
  echo "vdec: some frames went through bounce copies (see docs/zero-copy.md)" >&2
echo "wrote $png"
