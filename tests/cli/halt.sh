#!/usr/bin/env bash
# halt.sh: a stop request (runtime/guard/halt.h) loses no step and saves once.
#  1. SIGTERM reaching one rank in the middle of step 7 (PIPEGRID_FAULT=term,
#     as `scontrol requeue` or preemption delivers it): every rank finishes
#     step 7, logs it, writes one checkpoint and exits 75; the run resumed in
#     fresh processes starts at step 8, and every loss of the two halves equals
#     the uninterrupted run's, bitwise (as printed: %.6f of the same floats).
#  2. The same request on step 10, a periodic checkpoint step
#     (checkpoint.every=5): the step is saved once, its log line is there,
#     and the halted line says the periodic checkpoint was kept.
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run() { # run OUT ARGS...: 4 ranks (pp=2 x dp=2), one log line per step; prints the exit status
  local out=$1; shift
  timeout 120 "$MPIEXEC" -n 4 "$PIPEGRID" train --pp 2 --set train.log_every=1 --set model.type=mlp \
    --set "model.layers=linear:32 relu resmlp:48 layernorm linear:8 mse" --steps 16 "$@" \
    >"$work/$out.out" 2>"$work/$out.err"
  echo $?
}
losses() { grep -o '^step *[0-9]*/16 | loss [0-9.]*' "$@"; }

[ "$(run ref --set checkpoint.dir="$work/ref")" = 0 ] || fail "uninterrupted run: $(cat "$work/ref.err")"

# 1. SIGTERM on rank 1 during step 7's forward
rc=$(PIPEGRID_FAULT=term:rank=1,step=7,action=forward run a --set checkpoint.dir="$work/a")
cat "$work/a.out"
[ "$rc" = 75 ] || fail "exit $rc, expected 75: $(cat "$work/a.err")"
grep -q "^halted: SIGTERM after step 7 of 16; checkpoint written in [0-9.]* s in $work/a; exit 75" "$work/a.out" ||
  fail "no 'halted: SIGTERM after step 7' line"
grep -q '^step *7/16 | loss' "$work/a.out" || fail "step 7's log line is missing"
[ "$(cat "$work/a/latest")" = step_00000007.h5 ] || fail "latest: $(cat "$work/a/latest")"
rc=$(run b --set checkpoint.dir="$work/a" --resume latest)
[ "$rc" = 0 ] || fail "resume: exit $rc: $(cat "$work/b.err")"
grep -q "^resumed from $work/a/step_00000007.h5 at step 7" "$work/b.out" || fail "no 'resumed ... at step 7'"
first=$(losses "$work/b.out" | head -1 | sed -E 's/^step *([0-9]+).*/\1/')
[ "$first" = 8 ] || fail "the resumed run's first step is $first, expected 8"
losses "$work/ref.out" >"$work/ref.losses"
losses "$work/a.out" "$work/b.out" | sed 's/^[^:]*://' >"$work/ab.losses"
diff "$work/ref.losses" "$work/ab.losses" || fail "losses differ from the uninterrupted run"
grep -q "final loss $(sed -En 's/.*final loss ([0-9.]+).*/\1/p' "$work/ref.out")" "$work/b.out" ||
  fail "final loss differs"

# 2. the request on a periodic checkpoint step
rc=$(PIPEGRID_FAULT=term:rank=2,step=10,action=backward run c --set checkpoint.every=5 --set checkpoint.dir="$work/c")
cat "$work/c.out"
[ "$rc" = 75 ] || fail "exit $rc, expected 75: $(cat "$work/c.err")"
[ "$(grep -c '^checkpoint: step 10 ' "$work/c.out")" = 1 ] || fail "step 10 not saved exactly once"
grep -q '^step *10/16 | loss' "$work/c.out" || fail "step 10's log line is missing"
grep -q "^halted: SIGTERM after step 10 of 16; its periodic checkpoint, not saved twice, in $work/c; exit 75" \
  "$work/c.out" || fail "no 'halted ... not saved twice' line"
[ "$(cat "$work/c/latest")" = step_00000010.h5 ] || fail "latest: $(cat "$work/c/latest")"
echo "PASS: halted after steps 7 and 10, $(wc -l <"$work/ref.losses") losses equal to the uninterrupted run"
