#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds everything with gcc + AddressSanitizer + UndefinedBehaviorSanitizer (VDEC_SANITIZE) in
# build-asan/ and runs the whole ctest suite under them, LeakSanitizer included. Any report fails
# the run (UBSan halts on the first error). Warnings are not errors here: gcc 12 reports false
# maybe-uninitialized warnings in std::regex under ASan; the normal build keeps -Werror.
# Usage: tests/run_sanitized.sh [extra ctest arguments, e.g. -L fuzz or -R Virtqueue]
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$top/build-asan"
start=$(date +%s)

# -O1 -g1: the usual sanitizer optimization level, line tables for the reports, and a build that
# fits CI's time.
CC=gcc CXX=g++ cmake -S "$top" -B "$build" -G Ninja -DVDEC_SANITIZE=ON -DVDEC_FUZZ=OFF -DVDEC_WERROR=OFF \
  -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_FLAGS_SANITIZE="-O1 -g1" \
  -DCMAKE_C_FLAGS_SANITIZE="-O1 -g1" >/dev/null
cmake --build "$build" -j"$(nproc)"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-}"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 1800 "$@"
echo "vdec: sanitized suite passed in $(( $(date +%s) - start )) s"
