#!/usr/bin/env bash
# tests/gpu/run.sh: the GPU check, in one go, on a machine with an NVIDIA GPU
# (planned to take well under 8 minutes on one H100/H200; docs/gpu.md):
#   1. build with the CUDA backend for this machine's GPU (build-gpu/);
#   2. run the CUDA-vs-CPU parity tests (every op at fp32/tf32/bf16, and
#      pp=1 GPT training steps); a skipped GPU test is a failure here;
#   3. time a GPT-2-small-shaped model (12 layers, width 768, 12 heads,
#      T=1024, vocab 50257, batch 8) at each precision: tokens/s, MFU and
#      the cuBLAS GEMM rate measured in the same run (tests/gpu/gpu_bench.c).
#   tests/gpu/run.sh [--quick]      --quick: 3 timed iterations instead of 10
# Environment: PIPEGRID_BUILD (build-gpu), PIPEGRID_CUDA_ARCHS (native),
# GPU_BENCH_BATCH (8), GPU_BENCH_PEAK_TFLOPS (the H100/H200 SXM dense peak of
# each precision when unset).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${PIPEGRID_BUILD:-build-gpu}
iters=10
[ "${1:-}" = "--quick" ] && iters=3
start=$(date +%s)
stamp() { echo "[$(( $(date +%s) - start )) s] $*"; }

stamp "machine: $(hostname), $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader ||
  { echo "run.sh: nvidia-smi failed: no usable NVIDIA GPU here" >&2; exit 1; }

stamp "build ($build, CUDA archs ${PIPEGRID_CUDA_ARCHS:-native})"
PIPEGRID_BUILD=$build tools/build.sh -DPIPEGRID_CUDA=ON -DPIPEGRID_CUDA_ARCHS="${PIPEGRID_CUDA_ARCHS:-native}"

stamp "parity tests (ctest -L gpu)"
log=$(mktemp)
(cd "$build" && ctest -L gpu --output-on-failure -V) | tee "$log" | grep -E "^ *[0-9]+: |Test +#|tests passed" || true
if grep -q "Skipped" "$log"; then
  echo "run.sh: a GPU test was skipped on a machine that should have a GPU (see above)" >&2
  exit 1
fi
grep -q "100% tests passed" "$log" || { echo "run.sh: GPU parity tests failed" >&2; exit 1; }

for p in fp32 tf32 bf16; do
  stamp "GPT-2 small, $p"
  peak=()
  [ -n "${GPU_BENCH_PEAK_TFLOPS:-}" ] && peak=(--peak-tflops "$GPU_BENCH_PEAK_TFLOPS")
  "$build/tests/gpu/gpu_bench" --device cuda --precision "$p" --iters "$iters" \
    --batch "${GPU_BENCH_BATCH:-8}" "${peak[@]}"
done
stamp "done"
