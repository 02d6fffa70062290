#!/usr/bin/env python3
"""scaling.py: scaling studies of pipegrid through Slurm.

  tools/py jobs/scaling.py run SWEEP --out DIR [--sbatch-arg ARG ...] [--timeout S] [--parallel]
  tools/py jobs/scaling.py report DIR

(tools/py: the project's Python environment, made by tools/deps.sh; it has matplotlib.)

`run` reads a sweep file, checks every row against the partition (its node
count and CPUs per node, from scontrol and sinfo) and refuses the sweep,
naming each row the cluster can never run, before anything is submitted. It
then submits one Slurm job per row (jobs/pipegrid-run.sh in an allocation of
the row's nodes x tasks per node, then the allreduce benchmark on the same
grid; one job at a time unless --parallel) and waits for them: a job pending
for a reason that never clears (PartitionTimeLimit, DependencyNeverSatisfied,
a QOS or account limit...) is cancelled at once, a failing squeue is retried,
and at --timeout the jobs left are cancelled. It always writes the report;
rows whose job did not complete are listed as errors there, never with
numbers, and the exit status is 1. `report` (re)builds the report of a study
from its run directories:

  DIR/scaling.md    the table (markdown)      DIR/scaling.csv  the same, CSV
  DIR/scaling.png   throughput, scaling efficiency, bubble (measured and
                    the 1F1B/GPipe theory (p-1)/(m+p-1)) and allreduce bus
                    bandwidth against the number of ranks

A sweep file is a table: a header line naming the columns, then one run per
line; '#' starts a comment. Columns (any order; all but nodes, pp and dp
optional):

  study           runs of one study share a baseline (default: "main")
  scaling         strong (fixed global batch) | weak (batch grows with dp)
                  (default strong); only labels the study
  nodes           Slurm nodes
  tasks_per_node  ranks per node (default: pp x dp / nodes)
  pp, dp          the grid; pp x dp = nodes x tasks_per_node
  microbatches    per replica per step (default: the model's)
  schedule        gpipe | 1f1b | ... (default: the model's)
  model           default (the built-in model) or an INI file, relative to
                  the sweep file
  batch_size      global batch (default: the model's)
  steps           optimizer steps (default 30)
  time            the job's time limit in minutes (sbatch --time; default:
                  the partition's)

Per run it records (RUN_DIR = DIR/NN-...):
  metrics.jsonl   one JSON line per step when pipegrid has --metrics, else
  slurm.out       the job output, whose step lines are parsed instead
  allreduce.json  pg_allreduce_bench over the dp groups with the largest
                  stage's gradient size: seconds, algorithm and bus bandwidth
Throughput is the median samples/s over the steps after the first fifth.
Scaling efficiency = (throughput / baseline throughput) / (ranks / baseline
ranks), the baseline being the study's run with the fewest ranks: for strong
scaling the speed-up per rank, for weak scaling throughput kept per rank.
"""
import argparse
import csv
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from pyreq import require  # noqa: E402
require(__file__, "matplotlib")  # before any job is submitted: the report draws a plot

JOBS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(JOBS)
COLUMNS = ["study", "scaling", "nodes", "tasks_per_node", "pp", "dp", "microbatches",
           "schedule", "model", "batch_size", "steps", "time"]
INTS = ["nodes", "tasks_per_node", "pp", "dp", "microbatches", "batch_size", "steps", "time"]
# squeue states of a job that is over (it may still be listed for MinJobAge)
DONE = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED",
        "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT", "REVOKED"}
# pending reasons that no amount of waiting clears (limits of the partition,
# QOS or association, impossible dependencies, bad requests)
NEVER = re.compile(r"^(Partition(Node|Time)Limit|BadConstraints|DependencyNeverSatisfied|"
                   r"Invalid(Account|QOS)|(QOS|Assoc)Max\w*PerJob\w*)$")


def fail(msg):
    print(f"scaling.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def read_sweep(path):
    """Rows of the sweep file as dicts; errors name the file and line."""
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        fail(f"cannot read sweep file '{path}': {e.strerror}")
    header, rows = None, []
    for no, line in enumerate(lines, 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        where = f"{path}:{no}"
        if header is None:
            header = words
            for w in header:
                if w not in COLUMNS:
                    fail(f"{where}: unknown column '{w}' (expected some of {', '.join(COLUMNS)})")
            for need in ("nodes", "pp", "dp"):
                if need not in header:
                    fail(f"{where}: the header must name the column '{need}'")
            continue
        if len(words) != len(header):
            fail(f"{where}: {len(words)} values for {len(header)} columns")
        row = dict(zip(header, words))
        for k in INTS:
            if k in row:
                if not re.fullmatch(r"[1-9][0-9]*", row[k]):
                    fail(f"{where}: {k}: expected a positive integer, got '{row[k]}'")
                row[k] = int(row[k])
        row.setdefault("study", "main")
        row.setdefault("scaling", "strong")
        if row["scaling"] not in ("strong", "weak"):
            fail(f"{where}: scaling: expected strong or weak, got '{row['scaling']}'")
        ranks = row["pp"] * row["dp"]
        row.setdefault("tasks_per_node", ranks // row["nodes"])
        if row["nodes"] * row["tasks_per_node"] != ranks:
            fail(f"{where}: pp={row['pp']} x dp={row['dp']} = {ranks} ranks, but "
                 f"{row['nodes']} node(s) x {row['tasks_per_node']} task(s)")
        row.setdefault("steps", 30)
        model = row.get("model", "default")
        if model != "default":
            model = os.path.join(os.path.dirname(os.path.abspath(path)), model)
            if not os.path.isfile(model):
                fail(f"{where}: model: no such INI file '{model}'")
        row["model"] = model
        row["line"] = no
        rows.append(row)
    if not rows:
        fail(f"{path}: no runs (a header line, then one run per line)")
    return rows


def slurm(cmd, tries=1):
    """Run a Slurm client command, `tries` times at most (2, 4, 8... s
    apart, capped at 30 s); returns its stdout, or fails naming the command
    and its last error."""
    for t in range(tries):
        try:
            res = subprocess.run(cmd, capture_output=True, text=True)
            err = res.stderr.strip() or f"exit status {res.returncode}"
            if res.returncode == 0:
                return res.stdout
        except OSError as e:
            err = e.strerror
        if t + 1 < tries:
            time.sleep(min(30, 2 ** (t + 1)))
    fail(f"'{' '.join(cmd)}' failed{f' {tries} times' if tries > 1 else ''}: {err}")


def partition_of(sbatch_args):
    """The partition the jobs go to: --partition / -p in the sbatch
    arguments, else $SBATCH_PARTITION, else None (the cluster's default)."""
    part = os.environ.get("SBATCH_PARTITION") or None
    for i, a in enumerate(sbatch_args):
        if a.startswith("--partition="):
            part = a.split("=", 1)[1]
        elif a in ("-p", "--partition") and i + 1 < len(sbatch_args):
            part = sbatch_args[i + 1]
        elif a.startswith("-p") and len(a) > 2:
            part = a[2:]
    return part


def check_cluster(rows, path, sbatch_args):
    """Refuse rows that the partition can never run (more nodes than it has
    or allows a job, more tasks per node than a node has CPUs), all of them
    at once, before anything is submitted."""
    parts = {}
    for line in slurm(["scontrol", "show", "partition", "-o"]).splitlines():
        f = dict(w.split("=", 1) for w in line.split() if "=" in w)
        if "PartitionName" in f:
            parts[f["PartitionName"]] = f
    want = partition_of(sbatch_args)
    if want is None:
        want = next((n for n, f in parts.items() if f.get("Default") == "YES"), None)
        if want is None:
            fail("the cluster has no default partition: give one with --sbatch-arg=--partition=NAME")
    if want not in parts:
        fail(f"no partition '{want}' in this cluster (it has {', '.join(parts) or 'none'})")
    f = parts[want]
    total = int(f.get("TotalNodes", "0"))
    max_nodes = f.get("MaxNodes", "UNLIMITED")
    limit = total if max_nodes == "UNLIMITED" else min(total, int(max_nodes))
    cpus = [int(x) for x in slurm(["sinfo", "-h", "-p", want, "-N", "-o", "%c"]).split()]
    max_cpus = max(cpus) if cpus else 0
    bad = []
    for r in rows:
        where = f"{path}:{r['line']}"
        if r["nodes"] > limit:
            why = (f"{total} nodes" if limit == total else
                   f"{total} nodes, at most {max_nodes} per job (MaxNodes)")
            bad.append(f"{where}: nodes={r['nodes']}, but partition '{want}' has {why}: "
                       f"Slurm would never start this job")
        if r["tasks_per_node"] > max_cpus:
            bad.append(f"{where}: tasks_per_node={r['tasks_per_node']}, but the nodes of partition "
                       f"'{want}' have at most {max_cpus} CPUs")
    if bad:
        fail("\n".join(bad) + f"\nnothing submitted (partition '{want}': {limit} node(s) for one "
             f"job, {max_cpus} CPUs per node)")
    return want


def run_name(i, r):
    return (f"{i:02d}-{r['study']}-n{r['nodes']}-pp{r['pp']}-dp{r['dp']}"
            f"-m{r.get('microbatches', 'd')}-{r.get('schedule', 'd')}")


def job_script(r, run_dir):
    """The batch script of one run: the training job, then the benchmark."""
    env = {"PG_RUN_DIR": run_dir, "PG_PP": r["pp"], "PG_DP": r["dp"], "PG_STEPS": r["steps"],
           "PG_MAX_REQUEUES": 0, "PG_CKPT_EVERY": 0}  # a measurement: no checkpoints
    if "microbatches" in r:
        env["PG_MICROBATCHES"] = r["microbatches"]
    if "schedule" in r:
        env["PG_SCHEDULE"] = r["schedule"]
    if r["model"] != "default":
        env["PG_CONFIG"] = r["model"]
    extra = "--set train.log_every=1"
    if "batch_size" in r:
        extra += f" --set train.batch_size={r['batch_size']}"
    env["PG_ARGS"] = extra
    exports = "\n".join(f"export {k}={shlex.quote(str(v))}" for k, v in env.items())
    bench = os.environ.get("PG_ALLREDUCE_BENCH", os.path.join(ROOT, "build", "pg_allreduce_bench"))
    return f"""#!/usr/bin/env bash
# written by jobs/scaling.py: one run of the sweep (line {r['line']})
set -euo pipefail
{exports}
bash {shlex.quote(os.path.join(JOBS, 'pipegrid-run.sh'))}
# the gradient allreduce of the largest stage, over the dp groups
floats=$(awk '/^ *stage +[0-9]+:/ {{ for (i = 2; i <= NF; i++) if ($i == "params" && $(i-1) > m) m = $(i-1) }}
              END {{ print m + 0 }}' {shlex.quote(os.path.join(run_dir, 'slurm.out'))})
if [ "$floats" -gt 0 ] && [ {r['dp']} -gt 1 ]; then
  srun --mpi=pmi2 {shlex.quote(bench)} --floats "$floats" --dp {r['dp']} \\
    > {shlex.quote(os.path.join(run_dir, 'allreduce.json'))}
fi
"""


def submit(rows, out, sbatch_args, parallel):
    """One job per row; one at a time (a singleton dependency on the study's
    job name) unless `parallel`, so that runs do not share the nodes' CPUs."""
    jobs = []
    tag = f"pgscale-{os.getpid()}"
    for i, r in enumerate(rows):
        name = run_name(i, r)
        run_dir = os.path.join(out, name)
        os.makedirs(run_dir, exist_ok=True)
        script = os.path.join(run_dir, "job.sh")
        with open(script, "w") as f:
            f.write(job_script(r, run_dir))
        cmd = ["sbatch", "--parsable", f"--nodes={r['nodes']}",
               f"--ntasks-per-node={r['tasks_per_node']}",
               f"--job-name={tag}-{i:02d}" if parallel else f"--job-name={tag}",
               *([] if parallel else ["--dependency=singleton"]),
               f"--output={os.path.join(run_dir, 'slurm.out')}", f"--chdir={run_dir}",
               *([f"--time={r['time']}"] if "time" in r else []), *sbatch_args, script]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            if jobs:
                subprocess.run(["scancel", *(j["job"] for j in jobs)], capture_output=True)
            fail(f"sbatch for line {r['line']} failed: {res.stderr.strip()}"
                 f"{' (the jobs submitted before it are cancelled)' if jobs else ''}")
        job = res.stdout.strip().split(";")[0]
        print(f"submitted {name} as job {job}")
        jobs.append({"job": job, "dir": name, "row": r})
        save_jobs(out, jobs)
    return jobs


def save_jobs(out, jobs):
    with open(os.path.join(out, "sweep.json"), "w") as f:
        json.dump(jobs, f, indent=1)


def wait(jobs, timeout, out):
    """Until every job is over. Each job's "state" becomes its final Slurm
    state, or says why it was cancelled (a pending reason that never clears,
    the timeout); sweep.json keeps them for the report. A failing squeue is
    retried (8 tries over about 2 minutes) before the wait gives up: the
    jobs not seen ending are then reported as unknown, never as done."""
    byid = {j["job"]: j for j in jobs}
    seen = {}  # job -> (state, reason) as last listed
    deadline = time.time() + timeout
    user = os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True,
                                                     text=True).stdout.strip()

    def cancel(j, why):
        subprocess.run(["scancel", j["job"]], capture_output=True)
        j["state"] = why
        print(f"job {j['job']} ({j['dir']}): {why}", file=sys.stderr)

    try:
        while True:
            listing = slurm(["squeue", "-h", "-t", "all", "-u", user, "-o", "%i|%T|%r"], tries=8)
            now = {}
            for line in listing.splitlines():
                jid, state, reason = (line.split("|") + ["", ""])[:3]
                if jid in byid:
                    now[jid] = (state, reason)
            for jid, j in byid.items():
                if "state" in j:
                    continue
                if jid not in now:  # purged after MinJobAge: over, state unknown
                    j["state"] = seen.get(jid, ("not listed by squeue",))[0]
                    if j["state"] not in DONE:
                        j["state"] = f"left the queue (last seen {j['state']})"
                    continue
                state, reason = now[jid]
                if now[jid] != seen.get(jid):
                    print(f"job {jid} ({j['dir']}): {state}"
                          f"{f' ({reason})' if reason not in ('', 'None') else ''}")
                seen[jid] = now[jid]
                if state in DONE:
                    j["state"] = state
                elif state == "PENDING" and NEVER.match(reason):
                    cancel(j, f"never ran: pending for {reason}, which never clears: cancelled")
            left = [j for j in jobs if "state" not in j]
            if not left:
                return
            if time.time() > deadline:
                for j in left:
                    state, reason = seen.get(j["job"], ("?", ""))
                    what = ("never ran: still pending" if state == "PENDING" else f"still {state}")
                    cancel(j, f"{what}{f' ({reason})' if reason not in ('', 'None') else ''} "
                              f"after --timeout {timeout:.0f} s: cancelled")
                return
            time.sleep(2)
    finally:
        save_jobs(out, jobs)


def finished(j, run_dir):
    """True when the run's job completed (the state `run` recorded, or for a
    study without one, the job script's "finished" line), else why not."""
    state = j.get("state")
    if state is not None and state != "COMPLETED":
        return f"job {j['job']}: {state}"
    log = os.path.join(run_dir, "slurm.out")
    try:
        if any(line.startswith("pipegrid-job: finished") for line in open(log)):
            return True
    except OSError:
        return f"job {j['job']}: no output ({log})"
    return f"job {j['job']}: did not finish (no 'pipegrid-job: finished' in {log})"


STEP = re.compile(r"^step +(\d+)/\d+ \|.*\| +([0-9.]+) samples/s \| +([0-9.]+) ms \| "
                  r"bubble +([0-9.]+)%")


def steps_of(run_dir):
    """[(step, samples_per_s, step_time_s, bubble)], from metrics or the log."""
    m = os.path.join(run_dir, "metrics.jsonl")
    out = []
    if os.path.isfile(m):
        for line in open(m):
            if line.strip():
                d = json.loads(line)
                out.append((d["step"], d["samples_per_s"], d["step_time"], d["bubble"]))
        return out
    log = os.path.join(run_dir, "slurm.out")
    if os.path.isfile(log):
        for line in open(log):
            g = STEP.match(line)
            if g:
                out.append((int(g[1]), float(g[2]), float(g[3]) / 1e3, float(g[4]) / 100))
    return out


def report(out):
    try:
        jobs = json.load(open(os.path.join(out, "sweep.json")))
    except OSError:
        fail(f"'{out}' holds no sweep.json: run 'jobs/scaling.py run' first")
    table = []
    for j in jobs:
        r, d = j["row"], os.path.join(out, j["dir"])
        done = finished(j, d)
        steps = steps_of(d) if done is True else []
        rec = {"run": j["dir"], "job": j["job"], "study": r["study"], "scaling": r["scaling"],
               "nodes": r["nodes"], "ranks": r["pp"] * r["dp"], "pp": r["pp"], "dp": r["dp"],
               "m": r.get("microbatches", ""), "schedule": r.get("schedule", ""),
               "model": os.path.basename(r["model"])}
        if done is not True:
            rec["error"] = done
            table.append(rec)
            continue
        if len(steps) < 2:
            rec["error"] = "no step records (see slurm.out)"
            table.append(rec)
            continue
        tail = steps[max(1, len(steps) // 5):]
        rec["samples_per_s"] = statistics.median(s[1] for s in tail)
        rec["step_ms"] = 1e3 * statistics.median(s[2] for s in tail)
        rec["bubble"] = statistics.median(s[3] for s in tail)
        if rec["m"] != "":
            p, mb = r["pp"], r["microbatches"]
            rec["bubble_theory"] = (p - 1) / (mb + p - 1)
        a = os.path.join(d, "allreduce.json")
        if os.path.isfile(a) and os.path.getsize(a) > 0:
            b = json.loads(open(a).read().strip().splitlines()[-1])
            rec["allreduce_mb"] = b["bytes"] / 1e6
            rec["allreduce_ms"] = b["time_s"] * 1e3
            rec["busbw_gbs"] = b["busbw_gbs"]
        table.append(rec)
    # efficiency against each study's run with the fewest ranks
    for study in sorted({t["study"] for t in table}):
        runs = [t for t in table if t["study"] == study and "samples_per_s" in t]
        if not runs:
            continue
        base = min(runs, key=lambda t: t["ranks"])
        for t in runs:
            t["speedup"] = t["samples_per_s"] / base["samples_per_s"]
            t["efficiency"] = t["speedup"] / (t["ranks"] / base["ranks"])
    write_tables(out, table)
    plot(out, table)
    return table


FIELDS = [("run", "run", "{}"), ("scaling", "scaling", "{}"), ("nodes", "nodes", "{}"),
          ("ranks", "ranks", "{}"), ("pp", "pp", "{}"), ("dp", "dp", "{}"), ("m", "m", "{}"),
          ("schedule", "schedule", "{}"), ("samples_per_s", "samples/s", "{:.0f}"),
          ("step_ms", "step ms", "{:.1f}"), ("speedup", "speed-up", "{:.2f}"),
          ("efficiency", "efficiency", "{:.0%}"), ("bubble", "bubble", "{:.1%}"),
          ("bubble_theory", "bubble (p-1)/(m+p-1)", "{:.1%}"),
          ("allreduce_mb", "allreduce MB", "{:.2f}"), ("allreduce_ms", "allreduce ms", "{:.2f}"),
          ("busbw_gbs", "bus GB/s", "{:.3f}")]


def cell(t, k, fmt):
    return fmt.format(t[k]) if k in t and t[k] != "" else "-"


def write_tables(out, table):
    with open(os.path.join(out, "scaling.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([k for k, _, _ in FIELDS] + ["error"])
        for t in table:
            w.writerow([t.get(k, "") for k, _, _ in FIELDS] + [t.get("error", "")])
    lines = ["| " + " | ".join(h for _, h, _ in FIELDS) + " |",
             "|" + "---|" * len(FIELDS)]
    for t in table:
        lines.append("| " + " | ".join(cell(t, k, fmt) for k, _, fmt in FIELDS) + " |")
    errors = [f"- {t['run']}: {t['error']}" for t in table if "error" in t]
    with open(os.path.join(out, "scaling.md"), "w") as f:
        f.write("\n".join(lines + ([""] + errors if errors else [])) + "\n")
    print("\n".join(lines + errors))


def plot(out, table):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ok = [t for t in table if "samples_per_s" in t]
    fig, ax = plt.subplots(1, 4, figsize=(18, 4.2))
    for study in sorted({t["study"] for t in ok}):
        runs = sorted((t for t in ok if t["study"] == study), key=lambda t: t["ranks"])
        x = [t["ranks"] for t in runs]
        label = f"{study} ({runs[0]['scaling']})"
        line, = ax[0].plot(x, [t["samples_per_s"] for t in runs], "o-", label=label)
        ax[0].plot(x, [runs[0]["samples_per_s"] * n / x[0] for n in x], ":",
                   color=line.get_color())
        ax[1].plot(x, [100 * t["efficiency"] for t in runs], "o-", label=label)
        ax[2].plot(x, [100 * t["bubble"] for t in runs], "o-", label=f"{study} measured")
        th = [(t["ranks"], 100 * t["bubble_theory"]) for t in runs if "bubble_theory" in t]
        if th:
            ax[2].plot(*zip(*th), "x--", color=line.get_color(), label=f"{study} (p-1)/(m+p-1)")
        bw = [(t["ranks"], t["busbw_gbs"]) for t in runs if "busbw_gbs" in t]
        if bw:
            ax[3].plot(*zip(*bw), "o-", label=label)
    titles = ["throughput (samples/s; dotted: linear)", "scaling efficiency (%)",
              "bubble (% of step)", "gradient allreduce bus bandwidth (GB/s)"]
    for a, title in zip(ax, titles):
        a.set_title(title, fontsize=10)
        a.set_xlabel("ranks")
        a.grid(alpha=0.3)
        if a.get_legend_handles_labels()[0]:
            a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "scaling.png"), dpi=90)
    print(f"wrote {out}/scaling.md, scaling.csv, scaling.png")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[1:]))
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="submit a sweep, wait, report")
    r.add_argument("sweep")
    r.add_argument("--out", required=True, help="study directory (created)")
    r.add_argument("--sbatch-arg", action="append", default=[],
                   help="extra sbatch option for every run (repeatable), e.g. --time=10")
    r.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the runs")
    r.add_argument("--parallel", action="store_true",
                   help="let runs share the cluster at once (default: one at a time)")
    p = sub.add_parser("report", help="rebuild the report of a finished study")
    p.add_argument("out")
    a = ap.parse_args()
    if a.cmd == "run":
        rows = read_sweep(a.sweep)
        check_cluster(rows, a.sweep, a.sbatch_arg)
        out = os.path.abspath(a.out)
        os.makedirs(out, exist_ok=True)
        jobs = submit(rows, out, a.sbatch_arg, a.parallel)
        try:
            wait(jobs, a.timeout, out)
        finally:  # the finished rows are reported whatever ended the wait
            table = report(out)
    else:
        table = report(os.path.abspath(a.out))
    sys.exit(1 if any("error" in t for t in table) else 0)


if __name__ == "__main__":
    main()
