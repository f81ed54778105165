#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks every project #include "..." against the folder allow-list in docs/architecture.md
# ("Dependencies between folders"). Prints each violation as file:line and exits 1 if any.
set -u
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$root" || exit 2

# The layer a path belongs to (most specific first).
layer_of() {
  case "$1" in
    vdec/base/*) echo base ;;
    vdec/*) echo vdec ;;
    virtio/main.cpp | virtio/device_daemon.* | virtio/media_device_adapter.*) echo daemon ;;
    buffers/* | codecs/* | virtio/* | samples/* | tests/*) echo "${1%%/*}" ;;
    *) echo other ;;
  esac
}

# What each layer may include (besides itself).
allowed() {
  case "$1" in
    base) echo "base" ;;
    buffers) echo "buffers base" ;;
    codecs) echo "codecs buffers base" ;;
    vdec) echo "vdec codecs buffers base" ;;
    virtio) echo "virtio buffers base" ;;
    daemon) echo "daemon virtio vdec codecs buffers base" ;;
    samples | tests) echo "any" ;;
    *) echo "" ;;
  esac
}

violations=0
while IFS= read -r file; do
  from=$(layer_of "$file")
  allow=" $(allowed "$from") "
  [[ "$allow" == *" any "* ]] && continue
  while IFS=: read -r line text; do
    inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$text")
    to=$(layer_of "$inc")
    [[ "$to" == other ]] && continue  # not a project path (e.g. a generated or system header)
    if [[ "$allow" != *" $to "* ]]; then
      echo "$file:$line: $from may not include \"$inc\" ($to)"
      violations=$((violations + 1))
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file")
done < <(find vdec buffers codecs virtio samples tests -type f \( -name '*.h' -o -name '*.cpp' \) | sort)

if ((violations > 0)); then
  echo "$violations include(s) break the layering in docs/architecture.md"
  exit 1
fi
echo "layering: all includes allowed"
