#!/usr/bin/env bash
# Configure and build pipegrid into build/ (or $PIPEGRID_BUILD).
#   tools/build.sh [extra cmake -D options ...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${PIPEGRID_BUILD:-build}
cuda_opts=()
if [ -x /usr/local/cuda/bin/nvcc ]; then
  cuda_opts=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc)
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cuda_opts[@]}" "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
