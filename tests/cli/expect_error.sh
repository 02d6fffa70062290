#!/usr/bin/env bash
# expect_error.sh NPROCS EXPECTED -- ARGS...
#
# Runs `pipegrid ARGS...` on NPROCS MPI ranks (0 = without mpiexec) and
# passes when: it ends within 60 s; every rank exits non-zero; stderr holds
# exactly one "pipegrid: error:" line, containing EXPECTED; nothing else is
# printed on stderr.
set -u
nprocs=$1 expected=$2
shift 3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ "$nprocs" -eq 0 ]; then
  timeout 60 "$PIPEGRID" "$@" >"$out/stdout" 2>"$out/stderr"
  status=$?
  echo "$status" >"$out/rc.0"
else
  # each rank records its own exit status
  timeout 60 "$MPIEXEC" -n "$nprocs" bash -c \
    '"$0" "$@"; s=$?; echo $s > "'"$out"'/rc.$PMI_RANK"; exit $s' "$PIPEGRID" "$@" \
    >"$out/stdout" 2>"$out/stderr"
  status=$?
fi
fail() { echo "FAIL: $*"; echo "--- stderr:"; cat "$out/stderr"; exit 1; }
[ "$status" -eq 124 ] && fail "timed out (hang)"
[ "$status" -ne 0 ] || fail "exit status 0"
ranks=$(( nprocs > 0 ? nprocs : 1 ))
for ((r = 0; r < ranks; r++)); do
  [ -f "$out/rc.$r" ] || fail "rank $r left no exit status"
  [ "$(cat "$out/rc.$r")" -ne 0 ] || fail "rank $r exited 0"
done
lines=$(grep -c . "$out/stderr")
[ "$lines" -eq 1 ] || fail "expected one line on stderr, got $lines"
grep -q "^pipegrid: error: " "$out/stderr" || fail "no 'pipegrid: error:' line"
grep -qF -- "$expected" "$out/stderr" || fail "message lacks '$expected'"
echo "ok: $(cat "$out/stderr")"
