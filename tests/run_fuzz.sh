#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets (clang, ASan + UBSan, product libraries instrumented for coverage)
# in build-fuzz/ and fuzzes each target for SECONDS, starting from a copy of its seed corpus plus
# its saved crash reproducers (tests/fuzz/corpus/<target>/, tests/fuzz/regressions/<target>/).
# Fails if any target crashes, leaks, hangs or times out; the crash input is left in
# build-fuzz/fuzz-runs/<target>/ (copy it to tests/fuzz/regressions/<target>/ to keep it).
# Usage: tests/run_fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET...]
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$top/build-fuzz"
seconds=${1:-60}
shift || true
all_targets=(command_fuzzer bitstream_fuzzer descriptor_chain_fuzzer vhost_user_fuzzer)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

if ! command -v clang++-14 >/dev/null ||
   [ ! -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a ]; then
  echo "run_fuzz: installing clang 14 and its libFuzzer runtime"
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang-14 libclang-rt-14-dev >/dev/null
fi

flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CC=clang-14 CXX=clang++-14 cmake -S "$top" -B "$build" -G Ninja -DVDEC_FUZZ=ON -DVDEC_WERROR=OFF \
  -DCMAKE_BUILD_TYPE=Fuzz -DCMAKE_CXX_FLAGS_FUZZ="-O1 -gline-tables-only" \
  -DCMAKE_C_FLAGS_FUZZ="-O1 -gline-tables-only" \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" >/dev/null
cmake --build "$build" --target "${targets[@]}" -j"$(nproc)"

failed=()
for target in "${targets[@]}"; do
  work="$build/fuzz-runs/$target"
  rm -rf "$work"
  mkdir -p "$work/corpus"
  cp "$top/tests/fuzz/corpus/$target/"* "$work/corpus/"
  if [ -d "$top/tests/fuzz/regressions/$target" ]; then
    find "$top/tests/fuzz/regressions/$target" -type f ! -name '*.md' -exec cp {} "$work/corpus/" \;
  fi
  echo "run_fuzz: $target for ${seconds}s (log: $work/log.txt)"
  if (cd "$work" && "$build/tests/fuzz/$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -timeout=10 -max_len=16384 -print_final_stats=1 -artifact_prefix="$work/" corpus \
        >log.txt 2>&1); then
    grep -E '^stat::number_of_executed_units' "$work/log.txt" || true
  else
    echo "run_fuzz: $target FAILED:"
    grep -E 'ERROR:|SUMMARY:|fuzz invariant|Test unit written' "$work/log.txt" || tail -20 "$work/log.txt"
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "run_fuzz: failures in ${failed[*]}"
  exit 1
fi
# Every saved crash input and seed stays a regression test.
ctest --test-dir "$build" -L fuzz --output-on-failure
echo "run_fuzz: ${targets[*]}: no crash in ${seconds}s each"
