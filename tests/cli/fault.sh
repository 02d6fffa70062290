#!/usr/bin/env bash
# fault.sh: faults injected with PIPEGRID_FAULT (runtime/guard/fault.h) end the job
# loudly and fast (docs/reliability.md). Every case asserts its time bound,
# measured from the "fault injected" line to the end of mpiexec (start-up on
# a loaded machine does not count), a non-zero exit and that no process of
# the job is left.
#  1. watchdog (runtime.watchdog_s=2): a rank that hangs in a forward, in a
#     receive, in the gradient allreduce, and a rank frozen by SIGSTOP (its
#     neighbour reports what it waits on): one line naming rank, stage,
#     replica, step, action and microbatch; all ranks gone within 2 + 3 s
#     (+1 s grace for a rank that reports a wait). A hang in a checkpoint
#     write, likewise.
#  2. rank death (kill -9) in a forward, a backward, the allreduce and halfway
#     through a checkpoint write (synchronous and in the background): all
#     ranks gone within 30 s; after the checkpoint kills the previous
#     checkpoint verifies and `latest` names it.
#     Under a launcher that leaves the other ranks running (mpiexec
#     -disable-auto-cleanup) the watchdog ends them within 2 + 1 + 3 s.
#  3. NaN: stop (default) names the step and the first stage where it
#     appeared (a NaN in stage 0's output that spreads to every later
#     gradient is still reported in stage 0's forward), exit 1 on all ranks;
#     skip leaves weights and optimizer state bitwise unchanged for that step
#     and trains on.
#  4. a malformed PIPEGRID_FAULT: one line naming the variable.
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $* (status ${status:-?})"
  echo "--- stderr:"; cat "$work/err" 2>/dev/null
  echo "--- stdout (tail):"; tail -n 12 "$work/out" 2>/dev/null
  exit 1
}

# fault_run NAME NPROCS FAULT ARGS...: run pipegrid train with the fault, the
# checkpoint directory $work/NAME (which also marks the job's processes);
# sets status, t_fault (seconds from the fault to the end of mpiexec).
# $launcher_flags go to mpiexec.
fault_run() {
  local name=$1 n=$2 f=$3
  shift 3
  PIPEGRID_FAULT=$f timeout 120 "$MPIEXEC" ${launcher_flags:-} -n "$n" "$PIPEGRID" train --steps 6 \
    --set model.type=mlp --set "model.layers=linear:32 relu linear:32 relu linear:8 mse" \
    --set runtime.watchdog_s=2 --set checkpoint.dir="$work/$name" "$@" \
    >"$work/out" 2>"$work/err" &
  # t0: when the fault line was first seen, else the last look without it
  # (an upper bound of the time from the fault to the end)
  local pid=$! t0="" seen=""
  while kill -0 "$pid" 2>/dev/null; do
    if [ -z "$seen" ]; then
      t0=$(date +%s.%N)
      grep -q "fault injected" "$work/err" && seen=1
    fi
    sleep 0.05
  done
  wait "$pid"
  status=$?
  local t1
  t1=$(date +%s.%N)
  grep -q "fault injected" "$work/err" || fail "$name: the fault never fired"
  t_fault=$(awk -v a="${t0:-$t1}" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  [ "$status" -ne 0 ] || fail "$name: exit status 0"
  [ "$status" -ne 124 ] || fail "$name: still running after 120 s"
  sleep 0.2
  local left
  left=$(pgrep -f -- "$work/$name" | tr '\n' ' ')
  [ -z "$left" ] || fail "$name: processes left behind: $left"
}
within() { # NAME BOUND
  awk -v t="$t_fault" -v b="$2" 'BEGIN { exit !(t <= b) }' ||
    fail "$1: the job ended $t_fault s after the fault, bound $2 s"
}
# watchdog_line NAME EXPECTED: a watchdog line contains EXPECTED, and no rank
# printed more than one. (The stuck rank fires first and its abort usually
# ends the others before they fire; ranks that fire within the same moment,
# as all ranks inside one collective can, print one line each.)
watchdog_line() {
  grep -F 'pipegrid: watchdog:' "$work/err" | grep -qF -- "$2" || fail "$1: no '$2'"
  local dup
  dup=$(grep -o 'pipegrid: watchdog: rank [0-9]*' "$work/err" | sort | uniq -d)
  [ -z "$dup" ] || fail "$1: more than one line from $dup"
  echo "ok: $1 ($t_fault s after the fault): $(grep -F -- "$2" "$work/err")"
}

# 1. watchdog
fault_run hang_forward 2 hang:rank=0,step=3,action=forward --pp 2
within hang_forward 5
watchdog_line hang_forward "rank 0 (stage 0, replica 0), step 3: 0F0 (forward, microbatch 0) has run"

fault_run hang_recv 2 hang:rank=1,step=2,action=recv,mb=1 --pp 2
within hang_recv 5
watchdog_line hang_recv "rank 1 (stage 1, replica 0), step 2: 1RECV_F1 (receive, microbatch 1) has run"

fault_run hang_allreduce 4 hang:rank=3,step=2,action=allreduce --pp 2 --dp 2
within hang_allreduce 5
watchdog_line hang_allreduce "rank 3 (stage 1, replica 1), step 2: 1REDUCE (gradient allreduce) has run"

fault_run stop_forward 2 stop:rank=0,step=3,action=forward --pp 2
within stop_forward 6
watchdog_line stop_forward \
  "rank 1 (stage 1, replica 0), step 3: 1F0 (forward, microbatch 0) has run"
grep -qF "waiting on 1RECV_F0 (microbatch 0, from rank 0)" "$work/err" ||
  fail "stop_forward: the waiting rank does not name its peer"

fault_run hang_checkpoint 2 hang:rank=1,step=2,action=checkpoint --pp 2 --set checkpoint.every=2
within hang_checkpoint 5
# every rank is inside HDF5's collective write: any of them may report
watchdog_line hang_checkpoint "step 2: the checkpoint save has run"

# 2. rank death: the launcher (or, without it, the watchdog) ends the others
death() { # NAME: a message (mpiexec's, on stdout, or the watchdog's) says a rank died
  cat "$work/out" "$work/err" | grep -qE "BAD TERMINATION|Killed \(signal 9\)|pipegrid: watchdog:" ||
    fail "$1: no message"
  echo "ok: $1: all ranks gone $t_fault s after kill -9 (status $status)"
}
fault_run kill_forward 4 kill:rank=1,step=3,action=forward,mb=1 --pp 2 --dp 2
within kill_forward 30
death kill_forward
fault_run kill_backward 4 kill:rank=2,step=3,action=backward --pp 2 --dp 2
within kill_backward 30
death kill_backward
fault_run kill_allreduce 4 kill:rank=0,step=3,action=allreduce --pp 2 --dp 2
within kill_allreduce 30
death kill_allreduce
fault_run kill_checkpoint 4 kill:rank=1,step=4,action=checkpoint --pp 2 --dp 2 \
  --set checkpoint.every=2
within kill_checkpoint 30
death kill_checkpoint
c=$work/kill_checkpoint
[ "$(cat "$c/latest")" = step_00000002.h5 ] || fail "kill_checkpoint: latest is '$(cat "$c/latest")'"
[ ! -e "$c/step_00000004.h5" ] || fail "kill_checkpoint: a partial step_00000004.h5 was committed"
"$PIPEGRID" ckpt verify "$c" >"$work/out" 2>"$work/err" ||
  fail "kill_checkpoint: the previous checkpoint does not verify"
echo "ok: kill_checkpoint: latest still step_00000002.h5 and it verifies"
# the same with a background save: the writer thread dies
fault_run kill_checkpoint_async 4 kill:rank=2,step=4,action=checkpoint --pp 2 --dp 2 \
  --set checkpoint.every=2 --set checkpoint.async=1
within kill_checkpoint_async 30
death kill_checkpoint_async
c=$work/kill_checkpoint_async
[ "$(cat "$c/latest")" = step_00000002.h5 ] || fail "kill_checkpoint_async: latest is '$(cat "$c/latest")'"
"$PIPEGRID" ckpt verify "$c" >"$work/out" 2>"$work/err" ||
  fail "kill_checkpoint_async: the previous checkpoint does not verify"
echo "ok: kill_checkpoint_async: latest still step_00000002.h5 and it verifies"
# a launcher told not to end the job when a rank dies: hydra sometimes still
# does; else the watchdog of a rank waiting on the dead one ends it
if "$MPIEXEC" --help 2>&1 | grep -q disable-auto-cleanup; then
  launcher_flags=-disable-auto-cleanup fault_run kill_no_cleanup 4 \
    kill:rank=1,step=3,action=forward --pp 2 --dp 2
  within kill_no_cleanup 6
  death kill_no_cleanup
  grep 'pipegrid: watchdog:' "$work/err" || echo "(mpiexec ended the job itself)"
else
  echo "skipped: kill_no_cleanup ($MPIEXEC has no -disable-auto-cleanup)"
fi

# 3. NaN/Inf
nan_run() { # NAME NPROCS FAULT ARGS...
  local name=$1 n=$2 f=$3
  shift 3
  PIPEGRID_FAULT=$f timeout 120 "$MPIEXEC" -n "$n" "$PIPEGRID" train --steps 5 \
    --set model.type=mlp --set "model.layers=linear:32 relu linear:32 relu linear:8 mse" \
    --set train.log_every=1 --set checkpoint.dir="$work/$name" "$@" >"$work/out" 2>"$work/err"
  status=$?
  [ "$status" -ne 124 ] || fail "$name: still running after 120 s"
}
nan_stop() { # NAME EXPECTED
  [ "$status" -eq 1 ] || fail "$1: exit status $status, expected 1"
  [ "$(grep -c 'pipegrid: error:' "$work/err")" -eq 1 ] || fail "$1: not one error line"
  grep -qF -- "$2" "$work/err" || fail "$1: no '$2'"
  ! grep -q '^done:' "$work/out" || fail "$1: training went on"
  echo "ok: $1: $(grep 'pipegrid: error:' "$work/err")"
}
nan_run nan_forward 2 nan:rank=0,step=3,action=forward --pp 2
nan_stop nan_forward "pipegrid: error: step 3: NaN/Inf, first in the forward of stage 0; "
grep -q "gradient norm nan" "$work/err" || fail "nan_forward: the NaN did not reach the gradients"
nan_run nan_loss 3 nan:rank=2,step=2,action=forward,mb=1 --pp 3
nan_stop nan_loss "pipegrid: error: step 2: NaN/Inf, first in the loss (stage 2); loss nan"
nan_run nan_backward 4 nan:rank=3,step=4,action=backward --pp 2 --dp 2
nan_stop nan_backward "pipegrid: error: step 4: NaN/Inf, first in the backward of stage 1 (gradients)"

nan_run nan_skip 4 nan:rank=1,step=3,action=backward --pp 2 --dp 2 \
  --set runtime.on_nonfinite=skip --set checkpoint.every=1 --set checkpoint.keep=0
[ "$status" -eq 0 ] || fail "nan_skip: exit status $status"
grep -qF "step 3: NaN/Inf, first in the backward of stage 1 (gradients); loss" "$work/out" &&
  grep -qF "optimizer step skipped on every rank, weights unchanged" "$work/out" ||
  fail "nan_skip: no skip line"
grep -qE '^done: 5 steps .*final loss [0-9.]+ \(1 step skipped: NaN/Inf\)' "$work/out" ||
  fail "nan_skip: no done line with the skipped step"
c=$work/nan_skip
for g in /params /optim; do
  h5diff "$c/step_00000002.h5" "$c/step_00000003.h5" $g $g >/dev/null ||
    fail "nan_skip: $g changed in the skipped step 3"
done
! h5diff "$c/step_00000003.h5" "$c/step_00000004.h5" /params /params >/dev/null ||
  fail "nan_skip: step 4 did not update the weights"
echo "ok: nan_skip: $(grep 'NaN/Inf' "$work/out"); step 2 and 3 weights bitwise equal"

# 4. a malformed plan
PIPEGRID_FAULT=explode:rank=0 timeout 60 "$MPIEXEC" -n 2 "$PIPEGRID" train --pp 2 \
  >"$work/out" 2>"$work/err"
status=$?
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "bad PIPEGRID_FAULT: status $status"
[ "$(grep -c . "$work/err")" -eq 1 ] || fail "bad PIPEGRID_FAULT: not one line"
grep -qF "pipegrid: error: PIPEGRID_FAULT='explode:rank=0': unknown kind 'explode'" "$work/err" ||
  fail "bad PIPEGRID_FAULT"
echo "ok: $(cat "$work/err")"
