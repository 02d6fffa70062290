#!/usr/bin/env bash
# Build the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/ and
# run each for SECONDS (default 60) from its committed seed corpus under
# tests/fuzz/corpus/<name>. New inputs go to a scratch copy of the corpus; a
# crash leaves its input in build-fuzz/crashes/ and fails the run.
# fuzz_dataset and fuzz_ckpt write a scratch HDF5 file per input: into
# /dev/shm when there is one (TMPDIR overrides).
#   tools/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
build=build-fuzz
CC=clang cmake -S . -B "$build" -DPIPEGRID_FUZZ=ON -DPIPEGRID_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
mkdir -p "$build/crashes"
status=0
for target in "$build"/tests/fuzz/fuzz_*; do
  name=$(basename "$target")
  seeds=tests/fuzz/corpus/${name#fuzz_}
  work="$build/corpus/${name#fuzz_}"
  mkdir -p "$work"
  cp -r "$seeds"/. "$work"/
  echo "== $name: $seconds s from $(ls "$seeds" | wc -l) seeds"
  if ! ASAN_OPTIONS=detect_leaks=1 "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$build/crashes/$name-" -print_final_stats=1 "$work" 2>"$build/$name.log"; then
    echo "FAIL: $name crashed; input in $build/crashes/, log in $build/$name.log"
    tail -30 "$build/$name.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$build/$name.log" | tail -2
  fi
done
exit $status
