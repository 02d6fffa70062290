#!/usr/bin/env python3
"""plan_sweep.py: a plan's best candidates as a sweep for jobs/scaling.py.

  pipegrid plan ... --json > plan.json
  jobs/plan_sweep.py plan.json --out DIR [--top N] [--steps S]
  tools/py jobs/scaling.py run DIR/plan.sweep --out DIR/study

Writes DIR/plan.sweep (one row per candidate, best first, study "plan") and
DIR/plan-K.ini, the whole config of candidate K as `pipegrid plan` printed it
(model, global batch, and the candidate's pp, dp, schedule, chunks,
partition and rank order), which the sweep names in its model column. The
study then measures the plan's candidates on the user's own cluster; its
report puts the measured throughput next to each row, and DIR/predicted.csv
holds the planner's prediction for each row to compare with.
Standard library only.
"""
import argparse
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("plan", help="the output of `pipegrid plan --json`")
    ap.add_argument("--out", required=True, help="directory for the sweep and configs")
    ap.add_argument("--top", type=int, default=5, help="candidates to run (default 5)")
    ap.add_argument("--steps", type=int, default=30, help="steps per run (default 30)")
    a = ap.parse_args()
    try:
        with open(a.plan) as f:
            plan = json.load(f)
        plans = plan["plans"]
        nodes, rpn = plan["nodes"], plan["ranks_per_node"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit("plan_sweep.py: %s: not the JSON of `pipegrid plan --json` (%s)" % (a.plan, e))
    if not plans:
        sys.exit("plan_sweep.py: %s lists no plans" % a.plan)
    os.makedirs(a.out, exist_ok=True)
    rows, pred = [], ["plan,pp,dp,microbatches,schedule,chunks,partition,step_ms,samples_per_s"]
    for c in plans[:a.top]:
        k = c["rank"]
        ini = "plan-%d.ini" % k
        with open(os.path.join(a.out, ini), "w") as f:
            f.write("; candidate %d of `pipegrid plan` (predicted %.3f ms per step)\n%s"
                    % (k, c["step_ms"], c["config"]))
        batch = next(int(l.split("=")[1]) for l in c["config"].splitlines()
                     if l.startswith("batch_size ="))
        rows.append("plan  strong  %d  %d  %d  %d  %d  %s  %s  %d  %d" % (
            nodes, rpn, c["pp"], c["dp"], c["microbatches"], c["schedule"], ini, batch, a.steps))
        pred.append("%d,%d,%d,%d,%s,%d,%s,%.4f,%.2f" % (
            k, c["pp"], c["dp"], c["microbatches"], c["schedule"], c["chunks"],
            '"%s"' % c["partition"], c["step_ms"], c["samples_per_s"]))
    with open(os.path.join(a.out, "plan.sweep"), "w") as f:
        f.write("# plan.sweep: the best %d candidates of %s, best first (jobs/plan_sweep.py)\n"
                % (len(rows), a.plan))
        f.write("study  scaling  nodes  tasks_per_node  pp  dp  microbatches  schedule  model  "
                "batch_size  steps\n")
        f.write("\n".join(rows) + "\n")
    with open(os.path.join(a.out, "predicted.csv"), "w") as f:
        f.write("\n".join(pred) + "\n")
    print("wrote %s (%d runs) and their configs; measure them with:\n  tools/py "
          "jobs/scaling.py run %s --out %s" % (os.path.join(a.out, "plan.sweep"), len(rows),
                                                os.path.join(a.out, "plan.sweep"),
                                                os.path.join(a.out, "study")))


if __name__ == "__main__":
    main()
