#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs a libFuzzer target once over every file in the given directories (regression mode):
# seeds and saved crash reproducers must all pass. Usage: run_regressions.sh FUZZER DIR...
set -eu
fuzzer=$1
shift
files=$(find "$@" -type f ! -name '*.md' ! -name '.*' 2>/dev/null | sort)
if [ -z "$files" ]; then
  echo "no inputs in $*" >&2
  exit 1
fi
# shellcheck disable=SC2086  # one argument per file; corpus names have no spaces
exec "$fuzzer" -rss_limit_mb=2048 -timeout=30 $files
