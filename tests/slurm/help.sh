# The job scripts' --help, and the knob list in docs/slurm.md is the one in
# jobs/pipegrid-run.sh (its --help), not a copy that can drift.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
jobs/pipegrid-run.sh --help >/tmp/pg_help.$$ || fail "pipegrid-run.sh --help: exit $?"
grep -q '^  PG_CKPT_EVERY ' /tmp/pg_help.$$ || fail "no PG_CKPT_EVERY in pipegrid-run.sh --help"
jobs/testcluster.sh --help | grep -q '^  jobs/testcluster.sh start \[NODES\]' || fail "testcluster.sh --help"
# the knobs block of the help, and the block of docs/slurm.md between its markers
sed -n '/^Knobs/,/^Exit status/{/^Exit status/!p}' /tmp/pg_help.$$ >/tmp/pg_help_knobs.$$
sed -n '/<!-- knobs: jobs\/pipegrid-run.sh --help -->/,/<!-- end knobs -->/p' docs/slurm.md |
  sed '1,2d;$d' | sed '$d' >/tmp/pg_doc_knobs.$$
diff /tmp/pg_help_knobs.$$ /tmp/pg_doc_knobs.$$ || fail "docs/slurm.md's knob list differs from jobs/pipegrid-run.sh --help"
for f in jobs/*.sbatch; do
  ! grep -q 'PG_CONFIG  ' "$f" || fail "$f copies the knob list"
done
rm -f /tmp/pg_help.$$ /tmp/pg_help_knobs.$$ /tmp/pg_doc_knobs.$$
echo PASS
