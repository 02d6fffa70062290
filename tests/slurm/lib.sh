# lib.sh: helpers for the Slurm tests (sourced). Each test works in a fresh
# $PG_TEST_DIR; jobs run the source tree's jobs/*.sbatch with $PIPEGRID.
set -euo pipefail
: "${SLURM_CONF:?}" "${PIPEGRID:?}" "${PG_TEST_DIR:?}"
export SLURM_CONF PIPEGRID
rm -rf "$PG_TEST_DIR"
mkdir -p "$PG_TEST_DIR"

fail() { echo "FAIL: $*" >&2; exit 1; }

# submit OUTFILE [sbatch args...] SCRIPT: prints the job id
submit() {
  local out=$1; shift
  sbatch --parsable --output="$out" --chdir="$PG_TEST_DIR" "$@"
}

# job_field JOB KEY: a field of `scontrol show job` (JobState, Restarts, ExitCode)
job_field() { scontrol show job -o "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# wait_job JOB SECONDS: until the job has left the queue for good
wait_job() {
  local deadline=$((SECONDS + $2)) state
  while :; do
    state=$(job_field "$1" JobState)
    case "$state" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) return 0 ;; esac
    [ $SECONDS -lt $deadline ] || { scancel "$1" || true; fail "job $1 still $state after $2 s"; }
    sleep 1
  done
}

# wait_for_line JOB FILE REGEX SECONDS: until a line of FILE (JOB's output) matches
wait_for_line() {
  local deadline=$((SECONDS + $4))
  until grep -qE "$3" "$2" 2>/dev/null; do
    case "$(job_field "$1" JobState)" in
      COMPLETED | FAILED | CANCELLED | TIMEOUT) cat "$2" >&2; fail "job $1 ended before a line matched '$3'" ;;
    esac
    [ $SECONDS -lt $deadline ] || { cat "$2" >&2; fail "no line matching '$3' in $2 after $4 s"; }
    sleep 0.3
  done
}

expect_line() { grep -qE "$2" "$1" || { cat "$1" >&2; fail "$1: no line matching '$2'"; }; }
