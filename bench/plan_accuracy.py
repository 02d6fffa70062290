#!/usr/bin/env python3
"""plan_accuracy.py: `pipegrid plan`'s predicted step times against measured ones.

  python3 bench/plan_accuracy.py [-c CONFIG] [--set SEC.KEY=VAL ...] [--ranks 8]
      [--runs 14] [--steps 6] [--plan-arg ARG ...] [--json OUT]

Plans the config for RANKS ranks on this machine (one node, CPU ranks,
oversubscribed, layer costs profiled here: `pipegrid plan --costs profile
--json --top 0`), takes RUNS of the plans that fit, spread evenly over the
ranking from the planner's first choice to its last, trains each for STEPS
steps with mpiexec and the plan's own `pipegrid train` arguments, and
compares: measured step = mean of steps 3..STEPS (the step lines' ms);
Spearman rank correlation between predicted and measured step times; the
planner's first choice's measured step over the best measured one.
Standard library only. Run it under `flock /tmp/pg-heavy.lock`: it measures.
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ranks(xs):
    """Ranks 1..n, ties sharing their mean rank."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0 + 1
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    n = len(a)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra) ** 0.5
    vb = sum((y - mb) ** 2 for y in rb) ** 0.5
    return cov / (va * vb) if va > 0 and vb > 0 else float("nan")


STEP = re.compile(r"^step\s+(\d+)/\d+ .*\|\s+([0-9.]+) ms \|")


def measure(binary, n, args, steps):
    cmd = ["mpiexec", "-n", str(n), binary, "train"] + shlex.split(args) + [
        "--steps", str(steps), "--set", "train.log_every=1", "--set", "train.eval_every=0"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        sys.exit("plan_accuracy.py: training failed (%s):\n%s" % (" ".join(cmd),
                                                                   out.stderr[-2000:]))
    times = [float(m.group(2)) for m in map(STEP.match, out.stdout.splitlines())
             if m and int(m.group(1)) >= 3]
    if not times:
        sys.exit("plan_accuracy.py: no step lines from %s" % " ".join(cmd))
    return sum(times) / len(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-c", "--config")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--ranks", type=int, default=8)
    ap.add_argument("--runs", type=int, default=14)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--plan-arg", action="append", default=[])
    ap.add_argument("--json", help="write the table and summary here")
    ap.add_argument("--pipegrid", default=os.environ.get("PIPEGRID", "build/pipegrid"))
    a = ap.parse_args()
    if a.steps < 3:
        sys.exit("plan_accuracy.py: --steps must be at least 3 (steps 1-2 are warm-up)")
    plan = [a.pipegrid, "plan", "-R", str(a.ranks), "--device", "cpu", "--oversubscribe",
            "--costs", "profile", "--json", "--top", "0"]
    if a.config:
        plan += ["-c", a.config]
    for s in a.set:
        plan += ["--set", s]
    plan += a.plan_arg
    t0 = time.time()
    out = subprocess.run(plan, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("plan_accuracy.py: %s failed: %s" % (" ".join(plan), out.stderr.strip()))
    p = json.loads(out.stdout)
    plans = p["plans"]
    n = len(plans)
    k = min(a.runs, n)
    pick = sorted({round(i * (n - 1) / (k - 1)) for i in range(k)}) if k > 1 else [0]
    print("$ " + " ".join(shlex.quote(x) for x in plan))
    print("%d plans fit (of %d simulated; planning took %.2f s with profiling); measuring %d "
          "of them, %d steps each" % (n, p["considered"], time.time() - t0, len(pick), a.steps))
    print("%-5s %3s %3s %4s %-12s %-12s %10s %10s %9s" % ("plan", "pp", "dp", "m", "schedule",
                                                        "partition", "pred ms", "meas ms",
                                                        "meas/pred"))
    rows = []
    for i in pick:
        c = plans[i]
        meas = measure(a.pipegrid, a.ranks, c["train_args"], a.steps)
        rows.append({"plan": i + 1, "pp": c["pp"], "dp": c["dp"], "microbatches": c["microbatches"],
                     "schedule": c["schedule"], "partition": c["partition"],
                     "pred_ms": c["step_ms"], "meas_ms": meas})
        print("#%-4d %3d %3d %4d %-12s %-12s %10.2f %10.2f %9.3f" % (
            i + 1, c["pp"], c["dp"], c["microbatches"], c["schedule"], c["partition"][:12],
            c["step_ms"], meas, meas / c["step_ms"]), flush=True)
    rho = spearman([r["pred_ms"] for r in rows], [r["meas_ms"] for r in rows])
    best = min(rows, key=lambda r: r["meas_ms"])
    first = rows[0]
    gap = first["meas_ms"] / best["meas_ms"]
    print("Spearman rank correlation (predicted, measured): %.3f over %d plans" % (rho, len(rows)))
    print("planner's first choice measured %.2f ms; best measured %.2f ms (plan #%d): "
          "first / best = %.3f" % (first["meas_ms"], best["meas_ms"], best["plan"], gap))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows, "spearman": rho, "first_over_best": gap}, f, indent=1)


if __name__ == "__main__":
    main()
