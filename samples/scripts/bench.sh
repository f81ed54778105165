#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds vdec (samples/scripts/setup.sh, into build/) and runs the whole benchmark: 10 s clips
# made once with ffmpeg and kept in build/bench-clips, each in I420 and NV12 into contiguous and
# scatter-gather guest pages, 1/2/4 streams at once, limit vs zero-copy vs bounce, command latency.
# Writes bench-results/bench.csv, bench-results/bench.svg and bench-results/table.txt (with the
# load average before and after: compare runs only at similar load).
# Usage: samples/scripts/bench.sh [vdec-bench options...]   (e.g. --repeat 5, --quick)
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bash "$top/samples/scripts/setup.sh" "$top/build"

out="$top/bench-results"
mkdir -p "$out"
{
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$top/build/samples/vdec-bench" --device "$top/build/virtio/vdec-device" \
    --clips-dir "$top/build/bench-clips" --output-format i420,nv12 --memory contig,sg \
    --repeat 5 --csv "$out/bench.csv" --svg "$out/bench.svg" "$@"
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/table.txt"
