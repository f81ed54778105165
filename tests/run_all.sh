#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the whole test suite: installs what is missing, builds, runs every test with ctest
# (unit tests, the daemon + harness integration tests, the conformance manifest through the
# device). Needs ../shared/conformance beside the checkout.
# Usage: tests/run_all.sh
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$top/build"
start=$(date +%s)
"$top/samples/scripts/setup.sh" "$build"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 900
echo "vdec: all tests passed in $(( $(date +%s) - start )) s"
