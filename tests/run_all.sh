#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the whole test suite:
#   1. installs what is missing, builds build/, runs every test with ctest (unit tests, the
#      daemon + harness integration tests, the conformance manifest through the device);
#   2. the same suite again under AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer
#      (build-asan/, tests/run_sanitized.sh);
#   3. a short run of every libFuzzer target and a replay of every saved crash input
#      (build-fuzz/, tests/run_fuzz.sh).
# Conformance vectors (../shared/conformance or $VDEC_CONFORMANCE_DIR) run when present and are
# skipped otherwise; generated clips (tests/clips) and the .deb check (tests/package) always run.
# Knobs: VDEC_SANITIZE_SUITE=0 skips step 2; VDEC_FUZZ_SECONDS=N per target (default 60, 0 skips).
# Usage: tests/run_all.sh
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$top/build"
start=$(date +%s)
stamp() { echo "vdec: $1 after $(( $(date +%s) - start )) s"; }

# -O2 without debug info: the test build compiles about a third faster, which CI's 90 minutes on
# 2 cores need (the sanitizer and fuzz builds below compile everything again).
"$top/samples/scripts/setup.sh" "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 900
stamp "test suite passed"

if [ "${VDEC_SANITIZE_SUITE:-1}" != 0 ]; then
  # The host-ffmpeg comparison runs the whole manifest three times (sg, object, contig) and
  # takes minutes each under ASan; the first run, plus the manifest tests of every memory type,
  # cover the sanitized paths, and CI's time budget needs the rest.
  "$top/tests/run_sanitized.sh" -E 'HostFfmpegCompareTest.*/run[23]_'
  stamp "sanitized suite passed"
fi

if [ "${VDEC_FUZZ_SECONDS:-60}" != 0 ]; then
  "$top/tests/run_fuzz.sh" "${VDEC_FUZZ_SECONDS:-60}"
  stamp "fuzz runs passed"
fi
echo "vdec: all tests passed in $(( $(date +%s) - start )) s"
