#!/usr/bin/env bash
# GPT forward+backward throughput (tokens/s, model FLOP/s) of a 4-layer,
# width-256, 4-head model at B=8, T=128, V=256 against the machine's sgemm
# FLOP/s, in one process on the same threads. Target: model >= 40% of sgemm.
#   bench/gpt_throughput.sh [THREADS] [extra gpt_bench args...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${PIPEGRID_BUILD:-build}
threads=${1:-$(nproc)}
shift || true
cmake --build "$build" --target gpt_bench >/dev/null
exec "$build/gpt_bench" --threads "$threads" --iters 10 "$@"
