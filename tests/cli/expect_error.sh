#!/usr/bin/env bash
# expect_error.sh NPROCS EXPECTED -- ARGS...
#
# One case of the bad-input corpus (docs/reliability.md). Runs
# `pipegrid ARGS...` on NPROCS MPI ranks (0 = without mpiexec) and passes
# when:
#  - it ends within 60 s (no hang);
#  - every rank exits non-zero, none by a signal (no crash);
#  - stderr holds exactly one line, "pipegrid: error: ...", containing
#    EXPECTED (which names the file, key or option, and the problem): no
#    sanitizer report, no HDF5 or MPI noise;
#  - nothing was overwritten or created: every argument (and the value after
#    '=' in one) that names an existing file or directory has the same
#    contents afterwards (a directory: the same file names and contents), and
#    one that named nothing still names nothing.
set -u
nprocs=$1 expected=$2
shift 3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

snapshot() { # ARGS... -> one line per path-like argument: its state
  local a p paths
  for a in "$@"; do
    paths=("$a")
    [[ $a == *=* ]] && paths+=("${a#*=}")
    for p in "${paths[@]}"; do
      [ -n "$p" ] || continue
      if [ -d "$p" ]; then
        echo "dir $p $(cd "$p" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum | sha256sum)"
      elif [ -e "$p" ]; then
        echo "file $p $(sha256sum <"$p")"
      else
        echo "absent $p"
      fi
    done
  done
}
snapshot "$@" >"$out/before"

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
grep -qE "Sanitizer|runtime error:" "$out/stderr" && fail "sanitizer report"
ranks=$(( nprocs > 0 ? nprocs : 1 ))
for ((r = 0; r < ranks; r++)); do
  [ -f "$out/rc.$r" ] || fail "rank $r left no exit status"
  s=$(cat "$out/rc.$r")
  [ "$s" -ne 0 ] || fail "rank $r exited 0"
  [ "$s" -lt 126 ] || fail "rank $r ended with status $s (a signal: crash)"
done
lines=$(grep -c . "$out/stderr")
[ "$lines" -eq 1 ] || fail "expected one line on stderr, got $lines"
grep -q "^pipegrid: error: " "$out/stderr" || fail "no 'pipegrid: error:' line"
grep -qF -- "$expected" "$out/stderr" || fail "message lacks '$expected'"
snapshot "$@" >"$out/after"
diff "$out/before" "$out/after" >"$out/diff" || fail "files changed: $(cat "$out/diff")"
echo "ok: $(cat "$out/stderr")"
