#!/usr/bin/env bash
# ckpt.sh TAMPER: checkpoints end to end with the pipegrid binary, fresh
# processes for every run.
#  1. 10 steps straight == 5 steps, save, new processes, resume, 5 steps:
#     every logged loss equal and the step-10 checkpoints' tensors bitwise
#     equal (h5diff on /params and /optim).
#     checkpoint.async=1 writes bitwise the same tensors.
#  2. checkpoint.keep prunes old checkpoints but never the one resumed from.
#  3. kill -9 of a rank halfway through writing a checkpoint: the previous one
#     still verifies, `latest` still names it, resuming works.
#  4. corrupted checkpoints (truncated, a flipped bit inside a tensor, a
#     missing tensor, a wrong shape, a wrong dtype, not an HDF5 file) and a
#     different model: `ckpt verify` and `train --resume` fail with one line
#     naming the file and the dataset (or key), on every rank, without a hang.
set -u
tamper=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run() { # run NPROCS ARGS... -> $work/out, $work/err; returns the exit status
  local n=$1; shift
  timeout 120 "$MPIEXEC" -n "$n" "$PIPEGRID" train --pp 2 --set train.log_every=1 --set model.type=mlp \
    --set "model.layers=linear:32 relu resmlp:48 layernorm linear:8 mse" "$@" \
    >"$work/out" 2>"$work/err"
}
# "step N | loss L" (the "/total" differs: the first half is run with --steps 5;
# the warmup of 20 steps keeps the learning rate independent of the total)
losses() { grep -o '^step *[0-9]*/[0-9]* | loss [0-9.]*' "$work/out" | sed 's|/[0-9]*||'; }

# 1. bitwise resume in fresh processes
run 4 --steps 10 --set checkpoint.every=5 --set checkpoint.dir="$work/a" || fail "straight run: $(cat "$work/err")"
losses > "$work/a.losses"
run 4 --steps 5 --set checkpoint.every=5 --set checkpoint.dir="$work/b" || fail "first half: $(cat "$work/err")"
losses > "$work/b.losses"
run 4 --steps 10 --set checkpoint.every=5 --set checkpoint.dir="$work/b" --resume latest ||
  fail "resume: $(cat "$work/err")"
grep -q "resumed from $work/b/step_00000005.h5 at step 5" "$work/out" || fail "no 'resumed from' line"
losses >> "$work/b.losses"
diff "$work/a.losses" "$work/b.losses" || fail "logged losses differ"
for g in /params /optim; do
  h5diff "$work/a/step_00000010.h5" "$work/b/step_00000010.h5" $g $g >/dev/null ||
    fail "step-10 tensors in $g differ between the straight and the resumed run"
done
[ "$(cat "$work/b/latest")" = step_00000010.h5 ] || fail "latest is not step_00000010.h5"
# asynchronous saves (checkpoint.async=1) write the same tensors
run 4 --steps 10 --set checkpoint.every=5 --set checkpoint.async=1 --set checkpoint.dir="$work/e" ||
  fail "async run: $(cat "$work/err")"
grep -q "writing in the background" "$work/out" || fail "async run did not save in the background"
for g in /params /optim; do
  h5diff "$work/a/step_00000010.h5" "$work/e/step_00000010.h5" $g $g >/dev/null ||
    fail "async and sync step-10 tensors in $g differ"
done
"$PIPEGRID" ckpt verify "$work/e/step_00000005.h5" "$work/e/step_00000010.h5" >/dev/null ||
  fail "verify of async checkpoints"
"$PIPEGRID" ckpt verify "$work/b" >/dev/null || fail "verify of the resumed run's checkpoint"
echo "ok: resume in fresh processes is bitwise (losses, weights, optimizer state); async saves equal sync ones"

# 2. keep K, never the checkpoint resumed from
mkdir "$work/d" && cp "$work/b/step_00000005.h5" "$work/d/"
run 4 --steps 9 --set checkpoint.every=1 --set checkpoint.keep=2 --set checkpoint.dir="$work/d" \
  --resume "$work/d/step_00000005.h5" || fail "keep run: $(cat "$work/err")"
kept=$(cd "$work/d" && echo step_*)
[ "$kept" = "step_00000005.h5 step_00000008.h5 step_00000009.h5" ] ||
  fail "after keep=2 from step 5: kept '$kept'"
echo "ok: keep=2 kept $kept"

# 3. kill -9 of rank 1 halfway through writing step 10's checkpoint
PIPEGRID_FAULT=kill:rank=1,step=10,action=checkpoint run 4 --steps 10 --set checkpoint.every=5 --set checkpoint.dir="$work/c"
status=$?
[ $status -ne 0 ] && [ $status -ne 124 ] || fail "the killed run ended with status $status"
[ "$(cat "$work/c/latest")" = step_00000005.h5 ] || fail "latest moved: $(cat "$work/c/latest")"
[ ! -e "$work/c/step_00000010.h5" ] || fail "a partial step_00000010.h5 was committed"
"$PIPEGRID" ckpt verify "$work/c" >/dev/null || fail "the previous checkpoint no longer verifies"
partial=$(cd "$work/c" && ls step_*.tmp 2>/dev/null)
run 4 --steps 10 --set checkpoint.every=5 --set checkpoint.dir="$work/c" --resume latest ||
  fail "resume after the crash: $(cat "$work/err")"
grep -q "at step 5" "$work/out" || fail "did not resume from step 5"
[ -z "$(cd "$work/c" && ls step_*.tmp 2>/dev/null)" ] || fail "the partial file was not cleaned up"
"$PIPEGRID" ckpt verify "$work/c" >/dev/null || fail "verify after the rerun"
echo "ok: kill -9 during save (partial file: ${partial:-none}); latest kept step 5; rerun cleaned up"

# 4. corruption: verify and --resume both fail, naming file and dataset
good=$work/a/step_00000010.h5
ds=/params/layers.2.fc1.weight
expect_fail() { # NAME FILE EXPECTED
  local name=$1 f=$2 expected=$3
  "$PIPEGRID" ckpt verify "$f" >"$work/vout" 2>"$work/verr" && fail "$name: verify passed"
  grep -qF -- "$expected" "$work/verr" || fail "$name: verify said '$(cat "$work/verr")'"
  run 2 --steps 12 --resume "$f"
  local s=$?
  [ $s -ne 0 ] && [ $s -ne 124 ] || fail "$name: resume ended with status $s"
  [ "$(grep -c . "$work/err")" -eq 1 ] || fail "$name: resume stderr: $(cat "$work/err")"
  grep -qF -- "$expected" "$work/err" || fail "$name: resume said '$(cat "$work/err")'"
  echo "ok: $name: $(cat "$work/err")"
}
cp "$good" "$work/trunc.h5" && truncate -s $(( $(stat -c %s "$good") / 2 )) "$work/trunc.h5"
expect_fail truncated "$work/trunc.h5" "$work/trunc.h5: "
cp "$good" "$work/flip.h5" && "$tamper" "$work/flip.h5" flip $ds || fail "tamper flip"
expect_fail flipped-bit "$work/flip.h5" "$work/flip.h5: dataset $ds: CRC-32 mismatch"
cp "$good" "$work/missing.h5" && "$tamper" "$work/missing.h5" delete $ds || fail "tamper delete"
expect_fail missing-tensor "$work/missing.h5" "$work/missing.h5: dataset $ds is missing"
cp "$good" "$work/shape.h5" && "$tamper" "$work/shape.h5" reshape $ds || fail "tamper reshape"
expect_fail wrong-shape "$work/shape.h5" "$work/shape.h5: dataset $ds has shape (2, 3), expected (48, 32)"
cp "$good" "$work/dtype.h5" && "$tamper" "$work/dtype.h5" dtype $ds || fail "tamper dtype"
expect_fail wrong-dtype "$work/dtype.h5" "$work/dtype.h5: dataset $ds is not float32"
echo "not a checkpoint" > "$work/text.h5"
expect_fail not-hdf5 "$work/text.h5" "$work/text.h5: not an HDF5 file"
# a checkpoint of another model: one line naming the key and both values
run 2 --steps 12 --resume "$good" --set "model.layers=linear:32 relu linear:8 mse"
[ $? -ne 0 ] && grep -qF "$good: model.layers differs: checkpoint has 'linear:32 relu resmlp:48 layernorm linear:8 mse', this run 'linear:32 relu linear:8 mse'" "$work/err" ||
  fail "model mismatch: $(cat "$work/err")"
[ "$(grep -c . "$work/err")" -eq 1 ] || fail "model mismatch: more than one line"
echo "ok: model mismatch: $(cat "$work/err")"
