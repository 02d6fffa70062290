#!/usr/bin/env bash
# kit.sh: the GPU kit (tools/gpu-kit.sh) works away from this build, on a
# machine without a GPU:
#   1. tools/gpu-kit.sh builds it (its own build tree under $KIT_WORK) and
#      packs it; the archive is under 40 MiB (the script checks; sizes printed);
#   2. unpacked elsewhere, every kit binary and library resolves, under ldd
#      with only the kit's lib/ on the library path, to the kit itself, glibc,
#      the compiler runtime or a CUDA-side library (the GPU machine's own);
#   3. in a scrubbed environment (env -i, only the kit's lib/ as library path,
#      no PATH): the kit's mpiexec runs the kit's pipegrid for a 2-rank CPU
#      training (pp=2, 3 steps, the kit's corpus), under a host name that does
#      not resolve where unshare --uts is allowed (root);
#   4. the GPU tests exit 77 (skipped) naming the reason when there is no GPU
#      (or pass, where there is one);
#   5. the kit's run.sh in its dry-run mode (the CPU standing in for the GPU)
#      goes through every part, exits 0 and leaves a valid summary.json among
#      at most 8 files (the PyTorch baseline is skipped where the python3 that
#      env -i finds has no torch, as here).
# Exit 77 (skipped) when this machine cannot build the kit (no nvcc).
#   kit.sh WORKDIR
set -euo pipefail
work=${1:?usage: kit.sh WORKDIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*"; exit 1; }
if [ ! -x /usr/local/cuda/bin/nvcc ]; then
  echo "SKIP kit.sh: no CUDA compiler at /usr/local/cuda/bin/nvcc: the kit cannot be built here"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work"

echo "== 1. build and pack"
t0=$(date +%s)
PIPEGRID_KIT="$work/gpu-kit" PIPEGRID_KIT_BUILD="$work/build" PIPEGRID_KIT_TAR="$work/gpu-kit.tar.xz" \
  "$root/tools/gpu-kit.sh" >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; fail "tools/gpu-kit.sh failed"; }
grep '^gpu-kit:' "$work/build.log"
echo "built and packed in $(( $(date +%s) - t0 )) s"
rm -rf "$work/gpu-kit" # from here on only the archive, unpacked elsewhere
mkdir -p "$work/away"
tar -C "$work/away" -xJf "$work/gpu-kit.tar.xz"
kit=$work/away/gpu-kit
[ -x "$kit/bin/pipegrid" ] && [ -x "$kit/bin/mpiexec" ] && [ -x "$kit/bin/hydra_pmi_proxy" ] &&
  [ -x "$kit/run.sh" ] || fail "the archive lacks bin/pipegrid, bin/mpiexec, bin/hydra_pmi_proxy or run.sh"
echo "kit: $(du -sb "$kit" | cut -f1) bytes unpacked, archive $(stat -c %s "$work/gpu-kit.tar.xz") bytes"

echo "== 2. ldd of every kit binary and library"
base='^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libresolv|libutil|libgcc_s|libstdc\+\+)\.so'
cuda_side='^(libcuda|libcudart|libcublas|libcublasLt|libnccl|libnvrtc|libcudnn[a-z_]*)\.so'
bad=0
nfiles=0
while read -r f; do
  nfiles=$((nfiles + 1))
  while read -r soname arrow path _; do
    [ "$arrow" = "=>" ] || continue
    if [[ $soname =~ $base || $soname =~ $cuda_side ]]; then continue; fi
    if [[ $path != "$kit/lib/"* ]]; then
      echo "  $(basename "$f"): $soname -> $path (not in the kit)"
      bad=1
    fi
  done < <(env -i LD_LIBRARY_PATH="$kit/lib" ldd "$f")
done < <(find "$kit/bin" "$kit/lib" -type f \( -perm -u+x -o -name '*.so*' \) ! -name '*.sh')
[ $bad = 0 ] || fail "kit files resolve libraries outside the kit"
echo "ldd: $nfiles files resolve to the kit, glibc, the compiler runtime or the CUDA side"

echo "== 3. 2-rank CPU training with the kit's mpiexec and pipegrid (env -i)"
# under a host name that does not resolve (as it may not on the GPU machine),
# where this machine lets us make a UTS namespace
uts=()
if unshare --uts true 2>/dev/null; then
  uts=(unshare --uts bash -c 'hostname pg-kit-unresolvable-host && exec "$@"' uts)
  echo "(host name pg-kit-unresolvable-host, in its own UTS namespace)"
fi
(cd "$kit" && "${uts[@]}" env -i LD_LIBRARY_PATH="$kit/lib" HDF5_USE_FILE_LOCKING=FALSE OPENBLAS_NUM_THREADS=1 \
  bin/mpiexec -launcher fork -localhost 127.0.0.1 -n 2 bin/pipegrid train --device cpu --pp 2 \
  --steps 3 --set data.path=share/corpus.h5 --set model.depth=2 --set model.width=32 \
  --set model.heads=2 --set train.batch_size=4) >"$work/train.log" 2>&1 ||
  { cat "$work/train.log"; fail "the 2-rank kit run failed"; }
grep -E '^(step|done)' "$work/train.log"
grep -q '^done: 3 steps' "$work/train.log" || fail "the 2-rank kit run did not finish 3 steps"

echo "== 4. the GPU tests without a GPU (env -i)"
for t in test_gpu_ops test_gpu_step; do
  set +e
  (cd "$kit" && env -i LD_LIBRARY_PATH="$kit/lib" "bin/$t") >"$work/$t.log" 2>&1
  rc=$?
  set -e
  cat "$work/$t.log" | tail -3
  if [ $rc = 77 ]; then
    grep -q "^SKIP $t: no GPU: ." "$work/$t.log" || fail "$t skipped without naming the reason"
  elif [ $rc != 0 ]; then
    fail "$t exited $rc (expected 77 without a GPU, 0 with one)"
  fi
done

echo "== 5. run.sh, dry run (env -i)"
(cd "$work" && env -i OUT="$work/out" PG_KIT_DRYRUN=1 "$kit/run.sh") >"$work/run.txt" 2>&1 ||
  { cat "$work/run.txt"; fail "run.sh (dry run) failed"; }
grep -E '^\[' "$work/run.txt"
n=$(find "$work/out" -type f | wc -l)
[ "$n" -le 8 ] || fail "run.sh left $n files in OUT (the device call returns 8 at most)"
for f in summary.json run.log ops.log step.log bench.log mpi.log; do
  [ -s "$work/out/$f" ] || fail "run.sh left no $f"
done
if command -v "${PG_PYTHON:-python3}" >/dev/null; then
  "${PG_PYTHON:-python3}" -c 'import json, sys
s = json.load(open(sys.argv[1]))
assert not s["failed"], s["failed"]
assert len(s["bench"]) == 3 and all(b["tokens_per_s"] > 0 for b in s["bench"]), s["bench"]
assert all(c["status"] == "pass" or (k == "torch_baseline" and c["status"] == "skipped")
           for k, c in s["checks"].items()), s["checks"]
print("summary.json: %d checks passed, %d bench rows" % (len(s["checks"]), len(s["bench"])))' \
    "$work/out/summary.json" || fail "summary.json is not the expected JSON"
fi
rm -rf "$work/build" "$work/away"
echo "kit.sh: ok"
