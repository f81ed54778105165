#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds vdec (samples/scripts/setup.sh, into build/) and runs the whole benchmark with its
# defaults: clips made with ffmpeg, limit vs zero-copy vs bounce, command latency.
# Writes bench-results/bench.csv, bench-results/bench.svg and bench-results/table.txt.
# Usage: samples/scripts/bench.sh [vdec-bench options...]   (e.g. --repeat 5, --quick)
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bash "$top/samples/scripts/setup.sh" "$top/build"

out="$top/bench-results"
mkdir -p "$out"
"$top/build/samples/vdec-bench" --device "$top/build/virtio/vdec-device" \
  --csv "$out/bench.csv" --svg "$out/bench.svg" "$@" | tee "$out/table.txt"
