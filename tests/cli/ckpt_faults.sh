#!/usr/bin/env bash
# ckpt_faults.sh TAMPER: checkpoints that never lose the last good state
# (issue 21), with the pipegrid binary in fresh processes:
#  1. a rewind (resume from step 2 in a directory holding step 8) never
#     prunes the checkpoint just written; `latest` names an existing file;
#  2. ENOSPC and EIO injected (PIPEGRID_FAULT=enospc|eio) at every phase of
#     a save (create, write, sync, commit), synchronous and asynchronous: one
#     line naming the file and the cause, exit 1 well inside the watchdog
#     bound, no partial file, `latest` still names the previous checkpoint,
#     which verifies; checkpoint.on_error=continue trains on and saves later;
#  3. kill -9 at every phase, synchronous and asynchronous: the job ends
#     within the watchdog bound, the previous checkpoint verifies;
#  4. a real full disk: a 3 MB tmpfs as checkpoint.dir (skipped, with the
#     reason, where tmpfs cannot be mounted);
#  5. root attributes: a changed step fails the checksum; a file renamed to
#     another step fails the cross-check; a checkpoint at or past
#     train.steps gives one line;
#  6. --resume auto/latest: without `latest` the newest step file; a corrupt
#     newest one is skipped with its reason and the older one loads; an
#     empty directory starts fresh;
#  7. NaN/Inf in a checkpoint: verify and resume refuse it; a NaN injected
#     into the state is never saved;
#  8. an unwritable checkpoint.dir is reported before step 1.
set -u
tamper=$1
work=$(mktemp -d)
mnt=""
trap 'if [ -n "$mnt" ]; then umount "$mnt" 2>/dev/null; fi; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export HDF5_USE_FILE_LOCKING=FALSE
WATCHDOG=20
run() { # run NPROCS ARGS... -> $work/out, $work/err, $elapsed; returns the exit status
  local n=$1; shift
  local t0; t0=$(date +%s.%N)
  timeout 120 "$MPIEXEC" -n "$n" "$PIPEGRID" train --pp 2 --set train.log_every=1 \
    --set model.type=mlp --set "model.layers=linear:32 relu resmlp:48 layernorm linear:8 mse" \
    --set runtime.watchdog_s=$WATCHDOG "$@" >"$work/out" 2>"$work/err"
  local s=$?
  elapsed=$(echo "$(date +%s.%N) - $t0" | bc)
  return $s
}
one_line() { # NAME: stderr is exactly one line
  [ "$(grep -c . "$work/err")" -eq 1 ] || fail "$1: stderr is not one line: $(cat "$work/err")"
}
within_bound() { # NAME: ended within the watchdog bound
  awk -v e="$elapsed" -v w=$WATCHDOG 'BEGIN { exit !(e < w) }' ||
    fail "$1: took ${elapsed}s, not within runtime.watchdog_s=$WATCHDOG"
}
previous_intact() { # NAME DIR STEP: latest names step STEP, it verifies, no partial file
  local name=$1 d=$2 step; step=$(printf 'step_%08d.h5' "$3")
  [ "$(cat "$d/latest")" = "$step" ] || fail "$name: latest is '$(cat "$d/latest")', not $step"
  "$PIPEGRID" ckpt verify "$d/$step" >/dev/null 2>&1 || fail "$name: $step no longer verifies"
}

# 1. a rewind keeps the checkpoint it writes
run 2 --steps 8 --set checkpoint.every=2 --set checkpoint.keep=2 --set checkpoint.dir="$work/rw" ||
  fail "rewind setup: $(cat "$work/err")"
cp "$work/rw/step_00000008.h5" "$work/keep8.h5"
run 2 --steps 2 --set checkpoint.every=2 --set checkpoint.dir="$work/rw2" || fail "rewind setup 2"
cp "$work/rw2/step_00000002.h5" "$work/rw/"
run 2 --steps 4 --set checkpoint.every=1 --set checkpoint.keep=1 --set checkpoint.dir="$work/rw" \
  --resume "$work/rw/step_00000002.h5" || fail "rewind run: $(cat "$work/err")"
[ "$(cat "$work/rw/latest")" = step_00000004.h5 ] || fail "rewind: latest is $(cat "$work/rw/latest")"
[ -e "$work/rw/step_00000004.h5" ] || fail "rewind: the checkpoint just written (step 4) was pruned"
[ -e "$work/rw/step_00000008.h5" ] || fail "rewind: the other run's step 8 was deleted"
[ -e "$work/rw/step_00000002.h5" ] || fail "rewind: the checkpoint resumed from was deleted"
[ ! -e "$work/rw/step_00000003.h5" ] || fail "rewind: keep=1 did not prune step 3"
"$PIPEGRID" ckpt verify "$work/rw" >/dev/null || fail "rewind: latest does not verify"
echo "ok: rewind: kept $(cd "$work/rw" && echo step_*), latest $(cat "$work/rw/latest")"

# 2. ENOSPC / EIO at every phase, sync and async
for async in 0 1; do
  for phase in create write sync commit; do
    kind=enospc cause="No space left on device"
    [ $phase = sync ] && kind=eio cause="Input/output error"
    rank=1
    { [ $phase = create ] || [ $phase = commit ]; } && rank=0
    d=$work/e_${phase}_$async
    PIPEGRID_FAULT=$kind:rank=$rank,step=4,action=ckpt-$phase run 4 --steps 6 \
      --set checkpoint.every=2 --set checkpoint.async=$async --set checkpoint.dir="$d"
    s=$?
    name="$kind at $phase (async=$async)"
    [ $s -eq 1 ] || fail "$name: exit $s: $(cat "$work/err")"
    grep -v "fault injected" "$work/err" > "$work/err2"; mv "$work/err2" "$work/err"
    one_line "$name"
    grep -qF "$d/" "$work/err" && grep -qF "$cause" "$work/err" ||
      fail "$name: the line lacks the file or the cause: $(cat "$work/err")"
    within_bound "$name"
    previous_intact "$name" "$d" 2
    [ -z "$(cd "$d" && ls ./*.tmp 2>/dev/null)" ] || fail "$name: partial file left: $(ls "$d")"
    [ ! -e "$d/step_00000004.h5" ] || fail "$name: the failed step 4 was committed"
    echo "ok: $name: $(cat "$work/err") (${elapsed}s)"
  done
  # on_error=continue: the failed save is reported, training goes on, step 6 is saved
  d=$work/cont_$async
  PIPEGRID_FAULT=enospc:rank=1,step=4,action=ckpt-write run 4 --steps 6 --set checkpoint.every=2 \
    --set checkpoint.async=$async --set checkpoint.on_error=continue --set checkpoint.dir="$d" ||
    fail "on_error=continue (async=$async): $(cat "$work/err")"
  grep -q "checkpoint not saved: .*No space left on device; training goes on" "$work/err" ||
    fail "on_error=continue: no warning line: $(cat "$work/err")"
  grep -q "^done: 6 steps" "$work/out" || fail "on_error=continue: training did not finish"
  previous_intact "on_error=continue (async=$async)" "$d" 6
  echo "ok: on_error=continue (async=$async): step 4 not saved, step 6 is latest"
done

# 3. kill -9 at every phase, sync and async
for async in 0 1; do
  for phase in create write sync commit; do
    rank=1
    { [ $phase = create ] || [ $phase = commit ]; } && rank=0
    d=$work/k_${phase}_$async
    PIPEGRID_FAULT=kill:rank=$rank,step=4,action=ckpt-$phase run 4 --steps 6 \
      --set checkpoint.every=2 --set checkpoint.async=$async --set checkpoint.dir="$d"
    s=$?
    name="kill -9 at $phase (async=$async)"
    [ $s -ne 0 ] && [ $s -ne 124 ] || fail "$name: exit $s"
    within_bound "$name"
    previous_intact "$name" "$d" 2
    [ ! -e "$d/step_00000004.h5" ] || fail "$name: step 4 was committed"
    echo "ok: $name: exit $s in ${elapsed}s, step 2 still latest and verifies"
  done
done

# 4. a real full disk (3 MB tmpfs; the model's checkpoints are ~0.1 MB, the
# filler leaves less than that)
mnt=$work/tmpfs
mkdir -p "$mnt"
if mount -t tmpfs -o size=3m tmpfs "$mnt" 2>"$work/mount.err"; then
  for async in 0 1; do
    d=$mnt/c$async
    run 2 --steps 2 --set checkpoint.every=2 --set checkpoint.dir="$d" || fail "tmpfs setup"
    free=$(df -B1 --output=avail "$mnt" | tail -1)
    fallocate -l $(( free - 20000 )) "$mnt/filler" 2>/dev/null ||
      dd if=/dev/zero of="$mnt/filler" bs=1000 count=$(( free / 1000 - 20 )) 2>/dev/null
    run 2 --steps 4 --set checkpoint.every=2 --set checkpoint.async=$async \
      --set checkpoint.dir="$d" --resume latest
    s=$?
    name="tmpfs full (async=$async)"
    [ $s -eq 1 ] || fail "$name: exit $s: $(cat "$work/err")"
    one_line "$name"
    grep -qF "No space left on device" "$work/err" || fail "$name: no cause: $(cat "$work/err")"
    within_bound "$name"
    rm -f "$mnt/filler"
    previous_intact "$name" "$d" 2
    [ -z "$(cd "$d" && ls ./*.tmp 2>/dev/null)" ] || fail "$name: partial file left"
    echo "ok: $name: $(cat "$work/err") (${elapsed}s)"
    rm -rf "$d"
  done
  umount "$mnt" && mnt=""
else
  echo "skip: tmpfs full-disk case: cannot mount a tmpfs here ($(head -1 "$work/mount.err"))"
  mnt=""
fi

# 5. root attributes
good=$work/e_create_0/step_00000002.h5
cp "$good" "$work/step6.h5" && "$tamper" "$work/step6.h5" attr step 6 || fail "tamper attr"
"$PIPEGRID" ckpt verify "$work/step6.h5" >/dev/null 2>"$work/verr" && fail "changed step: verify passed"
grep -qF "$work/step6.h5: root attributes: CRC-32 mismatch" "$work/verr" ||
  fail "changed step: verify said $(cat "$work/verr")"
mkdir "$work/renamed" && cp "$good" "$work/renamed/step_00000006.h5"
"$PIPEGRID" ckpt verify "$work/renamed/step_00000006.h5" >/dev/null 2>"$work/verr" &&
  fail "renamed: verify passed"
grep -qF "root attribute step 2 disagrees with the file name" "$work/verr" ||
  fail "renamed: verify said $(cat "$work/verr")"
run 2 --steps 2 --resume "$good"
[ $? -eq 1 ] || fail "at train.steps: not exit 1"
one_line "at train.steps"
grep -qF "$good is at step 2, at or past train.steps=2: nothing left to train" "$work/err" ||
  fail "at train.steps: $(cat "$work/err")"
echo "ok: root attributes: changed step, renamed file and step >= train.steps refused in one line"

# 6. --resume auto / latest fall back
d=$work/auto
run 2 --steps 4 --set checkpoint.every=2 --set checkpoint.dir="$d" || fail "auto setup"
rm "$d/latest"
run 2 --steps 6 --set checkpoint.dir="$d" --resume auto || fail "auto without latest: $(cat "$work/err")"
grep -q "resumed from $d/step_00000004.h5 at step 4" "$work/out" ||
  fail "auto without latest did not take step 4: $(cat "$work/out")"
echo step_00000004.h5 > "$d/latest"
"$tamper" "$d/step_00000004.h5" flip /params/layers.2.fc1.weight || fail "tamper flip"
run 2 --steps 6 --set checkpoint.dir="$d" --resume latest || fail "latest fallback: $(cat "$work/err")"
grep -q "resume: skipping $d/step_00000004.h5: .*CRC-32 mismatch" "$work/out" ||
  fail "the corrupt newest was not named: $(cat "$work/out")"
grep -q "resumed from $d/step_00000002.h5 at step 2" "$work/out" || fail "did not fall back to step 2"
mkdir "$work/empty"
run 2 --steps 1 --set checkpoint.dir="$work/empty" --resume auto || fail "auto in an empty dir"
grep -q "resumed from" "$work/out" && fail "auto in an empty dir resumed"
echo "ok: resume: auto without latest took step 4; a corrupt step 4 was named and step 2 loaded; empty dir starts fresh"

# 7. NaN/Inf
cp "$good" "$work/nan.h5" && "$tamper" "$work/nan.h5" nan /optim/exp_avg_sq/layers.0.weight || fail "tamper nan"
"$PIPEGRID" ckpt verify "$work/nan.h5" >/dev/null 2>"$work/verr" && fail "nan: verify passed"
grep -qF "$work/nan.h5: dataset /optim/exp_avg_sq/layers.0.weight holds NaN/Inf (element 0)" "$work/verr" ||
  fail "nan: verify said $(cat "$work/verr")"
run 2 --steps 4 --resume "$work/nan.h5"
[ $? -eq 1 ] && grep -qF "holds NaN/Inf" "$work/err" || fail "nan: resume: $(cat "$work/err")"
one_line "nan resume"
echo "ok: NaN in the optimizer state: verify and resume refuse it"

# 8. an unwritable checkpoint.dir, found before step 1
echo file > "$work/notadir"
run 2 --steps 2 --set checkpoint.every=1 --set checkpoint.dir="$work/notadir/ckpt"
[ $? -eq 1 ] || fail "unwritable dir: not exit 1"
one_line "unwritable dir"
grep -qF "$work/notadir" "$work/err" && grep -q "Not a directory" "$work/err" ||
  fail "unwritable dir: $(cat "$work/err")"
grep -q "^step" "$work/out" && fail "unwritable dir: training started"
echo "ok: unwritable checkpoint.dir: $(cat "$work/err")"
echo "ok: all"
