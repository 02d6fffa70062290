#!/usr/bin/env python3
"""Draw the loss curve (and samples/s) from a `pipegrid train --metrics FILE` file.

    tools/py tools/plot_loss.py metrics.jsonl -o loss.png [--title TEXT]

One JSON object per line (runtime/engine/metrics.h); a resumed run appends to the same file,
so a step may appear twice: the later line wins. Needs matplotlib: run it with the project's
Python environment, `tools/py tools/plot_loss.py ...` (tools/deps.sh makes it).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyreq import require  # noqa: E402
require(__file__, "matplotlib")


def load(path):
    steps = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                steps[int(d["step"])] = (float(d["loss"]), float(d["samples_per_s"]))
            except (ValueError, KeyError, TypeError) as e:
                sys.exit(f"plot_loss.py: error: {path}:{n}: not a metrics line "
                         f"(JSON with step, loss, samples_per_s): {e}")
    if not steps:
        sys.exit(f"plot_loss.py: error: {path}: no metrics lines")
    return sorted((s, *v) for s, v in steps.items())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("metrics", help="the --metrics file (JSON lines)")
    ap.add_argument("-o", "--out", default="loss.png", help="image to write (png, svg, pdf)")
    ap.add_argument("--title", default=None)
    a = ap.parse_args()
    try:
        rows = load(a.metrics)
    except OSError as e:
        sys.exit(f"plot_loss.py: error: cannot read {a.metrics}: {e.strerror}")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    steps = [r[0] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, [r[1] for r in rows], color="tab:blue", label="training loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (mean over the global batch)")
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot(steps, [r[2] for r in rows], color="tab:orange", alpha=0.5, lw=0.8,
             label="samples/s")
    ax2.set_ylabel("samples/s")
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [l.get_label() for l in lines], loc="upper right")
    ax.set_title(a.title or a.metrics)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"loss curve of {len(rows)} steps written to {a.out}")


if __name__ == "__main__":
    main()
