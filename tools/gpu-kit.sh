#!/usr/bin/env bash
# tools/gpu-kit.sh: build the self-contained GPU kit that the lent GPU machine
# runs (docs/gpu.md). That machine has the CUDA 13 toolkit, cuBLAS, NCCL and
# cuDNN (the toolkit's lib64 and the Python wheels' nvidia/*/lib) but no MPI,
# HDF5, hwloc, OpenBLAS, inih or cJSON, no package registry, and receives
# only the working tree and at most 8 carried ignored paths (64 MiB in all).
#
#   tools/gpu-kit.sh                 build build-kit/, write gpu-kit/ and gpu-kit.tar.xz
#
# What it does:
#   1. configures and builds pipegrid with the CUDA backend for Hopper
#      (sm_90a, -lineinfo for compute-sanitizer's source lines) in build-kit/,
#      with the GPU tests (tests/gpu) and the GPU bench;
#   2. writes gpu-kit/: bin/ (pipegrid, test_gpu_ops, test_gpu_step, gpu_bench,
#      MPICH's mpiexec and hydra_pmi_proxy), lib/ (every shared library those
#      load that is not glibc, libgcc_s, libstdc++ or a CUDA-side library, as
#      ldd resolves them here; UCX's cma module in lib/ucx), share/corpus.h5
#      (the built-in corpus as a token dataset, for the 2-rank runs),
#      share/torch_gpt2.py (the PyTorch baseline of the bench), run.sh
#      (tests/gpu/run.sh: the GPU check), env.sh (the library path for running
#      the kit's binaries by hand) and BUILD (when, from which commit);
#   3. packs it as gpu-kit.tar.xz, the one path a device call carries, and
#      prints both sizes. Fails when the archive is 40 MiB or more.
# The CUDA-side libraries (libcuda, libcudart, libcublas, libcublasLt, libnccl,
# libnvrtc, libcudnn) are left out on purpose: run.sh finds those of the GPU
# machine itself. Nothing here needs a GPU.
#
# Environment: PIPEGRID_KIT (gpu-kit), PIPEGRID_KIT_BUILD (build-kit),
# PIPEGRID_KIT_ARCHS (90a), PIPEGRID_KIT_TAR (gpu-kit.tar.xz; "none": no archive).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kit=${PIPEGRID_KIT:-$root/gpu-kit}
build=${PIPEGRID_KIT_BUILD:-$root/build-kit}
archs=${PIPEGRID_KIT_ARCHS:-90a}
tarball=${PIPEGRID_KIT_TAR:-$root/gpu-kit.tar.xz}
nvcc=/usr/local/cuda/bin/nvcc
die() { echo "gpu-kit.sh: $*" >&2; exit 1; }

[ -x "$nvcc" ] || die "no CUDA compiler at $nvcc (the kit needs the CUDA backend)"
mpiexec=$(readlink -f "$(command -v mpiexec.hydra || command -v mpiexec || true)")
proxy=$(command -v hydra_pmi_proxy || true)
[ -x "$mpiexec" ] && [ -x "$proxy" ] || die "MPICH's mpiexec.hydra and hydra_pmi_proxy not found (tools/deps.sh)"

echo "gpu-kit: build ($build, CUDA archs $archs)"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPIPEGRID_CUDA=ON \
  -DPIPEGRID_CUDA_ARCHS="$archs" -DCMAKE_CUDA_FLAGS=-lineinfo -DCMAKE_CUDA_COMPILER="$nvcc" >/dev/null
cmake --build "$build" -j "$(nproc)" --target pipegrid test_gpu_ops test_gpu_step gpu_bench

rm -rf "$kit"
mkdir -p "$kit/bin" "$kit/lib"
cp "$build/pipegrid" "$build/tests/gpu/test_gpu_ops" "$build/tests/gpu/test_gpu_step" \
   "$build/tests/gpu/gpu_bench" "$kit/bin/"
cp "$mpiexec" "$kit/bin/mpiexec"
cp "$proxy" "$kit/bin/hydra_pmi_proxy"
cp "$root/tests/gpu/run.sh" "$kit/run.sh"
mkdir -p "$kit/share" # the 2-rank runs' data: byte tokens of the built-in corpus
"$build/pipegrid" prep --default -o "$kit/share/corpus.h5" >/dev/null
cp "$root/tests/gpu/torch_gpt2.py" "$kit/share/" # the PyTorch baseline

# Libraries the GPU machine has (glibc's, the compiler runtime's) or must
# provide itself (the CUDA side): never copied.
base='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libresolv|libutil|libgcc_s|libstdc\+\+)\.so'
cuda_side='^(libcuda|libcudart|libcublas|libcublasLt|libnccl|libnvrtc|libcudnn[a-z_]*)\.so'

# copy every library ldd resolves for the given files into $2 (by soname)
copy_deps() {
  local dest=$1 f soname path
  shift
  for f in "$@"; do
    while read -r soname path; do
      [[ $soname =~ $base || $soname =~ $cuda_side ]] && continue
      [ -e "$kit/lib/$soname" ] && continue
      [[ $path == /* ]] || die "ldd $f: $soname not found here"
      cp -L "$path" "$dest/$soname"
    done < <(ldd "$f" | awk '$2 == "=>" {print $1, $3}')
  done
}
copy_deps "$kit/lib" "$kit"/bin/*

# UCX's transport modules are loaded at run time from <dir of libucs>/ucx:
# cross-memory attach (cma) only; the InfiniBand ones need libibverbs and its
# drivers, which a one-node run does not use. (hwloc finds PCI devices through
# sysfs on Linux without its plugins.)
multiarch=$(dirname "$(readlink -f "$(ldd "$kit/bin/pipegrid" | awk '$1 == "libucs.so.0" {print $3}')")")
if [ -d "$multiarch/ucx" ]; then
  mkdir -p "$kit/lib/ucx"
  for m in "$multiarch"/ucx/libuct_cma.so.0; do
    [ -e "$m" ] && cp -L "$m" "$kit/lib/ucx/" && copy_deps "$kit/lib" "$kit/lib/ucx/$(basename "$m")"
  done
fi

cat >"$kit/env.sh" <<'EOF'
# env.sh: source this to run the kit's binaries by hand (run.sh does it itself,
# and also finds the CUDA-side libraries, which this does not):
#   . gpu-kit/env.sh && mpiexec -n 2 pipegrid train --device cpu
# Sets PG_KIT, LD_LIBRARY_PATH (the kit's lib/ first) and PATH (the kit's bin/, for mpiexec and its proxy).
PG_KIT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PG_KIT
export LD_LIBRARY_PATH="$PG_KIT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="$PG_KIT/bin:$PATH"
EOF
{
  echo "pipegrid GPU kit, built $(date -u +%Y-%m-%dT%H:%MZ) on $(hostname)"
  echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "CUDA archs: $archs; nvcc: $("$nvcc" --version | tail -1)"
  echo "needs from the GPU machine: $(ldd "$kit"/bin/* 2>/dev/null | awk '{print $1}' | grep -E "$cuda_side" | sort -u | tr '\n' ' ')"
} >"$kit/BUILD"

size_kit=$(du -sb "$kit" | cut -f1)
echo "gpu-kit: $kit: $((size_kit / 1024 / 1024)) MiB unpacked ($(ls "$kit/lib" | wc -l) entries in lib/)"
if [ "$tarball" != none ]; then
  rm -f "$tarball"
  tar -C "$(dirname "$kit")" -cf - "$(basename "$kit")" | xz -T"$(nproc)" -6 >"$tarball"
  size_tar=$(stat -c %s "$tarball")
  echo "gpu-kit: $tarball: $size_tar bytes ($((size_tar / 1024 / 1024)) MiB; limit 40 MiB)"
  [ "$size_tar" -lt $((40 * 1024 * 1024)) ] || die "the kit archive is 40 MiB or more"
fi
