#!/usr/bin/env python3
"""mlp_pipe_torch.py: the PyTorch side of bench/pipeline_vs_torch.sh: the same
MLP pipeline as bench/mlp_pipe.c with torch.distributed.pipelining on gloo.

    tools/py bench/mlp_pipe_torch.py [--ranks 2] [--steps 20] [--warmup 3]
    torch: step_ms 52.1 samples/s 1228 (median of 20 steps, torch 2.15.0, gloo)

Two processes on this machine (torch.multiprocessing, gloo over loopback), one
thread each (torch.set_num_threads(1)): 8 nn.Linear(1024, 1024) with ReLU
between, split 4 + 4 into two PipelineStage's, Schedule1F1B with 8
microbatches of a batch of 64, MSE loss, SGD (lr 1e-3, momentum 0.9) after each
step. Gradients are zeroed before each step. Step time = between two barriers
around schedule.step() + optimizer.step(), rank 0's median.
"""
import argparse
import os
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from pyreq import require  # noqa: E402
require(__file__, "torch")

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
import torch.nn as nn  # noqa: E402
from torch.distributed.pipelining import PipelineStage, Schedule1F1B  # noqa: E402

WIDTH, LAYERS, BATCH, MICRO = 1024, 8, 64, 8


def build(rank, nranks):
    torch.manual_seed(1)
    layers = []
    for i in range(LAYERS):
        layers.append(nn.Linear(WIDTH, WIDTH))
        if i < LAYERS - 1:
            layers.append(nn.ReLU())
    per = LAYERS // nranks  # linear layers per stage, each with its ReLU
    lo = 2 * per * rank
    hi = min(len(layers), 2 * per * (rank + 1))
    return nn.Sequential(*layers[lo:hi])


def worker(rank, nranks, port, steps, warmup, out):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=nranks)
    mod = build(rank, nranks)
    stage = PipelineStage(mod, rank, nranks, torch.device("cpu"))
    sched = Schedule1F1B(stage, n_microbatches=MICRO, loss_fn=nn.MSELoss())
    opt = torch.optim.SGD(mod.parameters(), lr=1e-3, momentum=0.9)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(BATCH, WIDTH, generator=g)
    y = torch.randn(BATCH, WIDTH, generator=g)
    times = []
    for i in range(warmup + steps):
        opt.zero_grad(set_to_none=False)
        dist.barrier()
        t0 = time.perf_counter()
        if rank == 0:
            sched.step(x)
        elif rank == nranks - 1:
            sched.step(target=y, losses=[])
        else:
            sched.step()
        opt.step()
        dist.barrier()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    if rank == 0:
        ms = statistics.median(times) * 1e3
        out.put(f"torch: step_ms {ms:.2f} samples/s {BATCH / ms * 1e3:.0f} (median of {steps} "
                f"steps, torch {torch.__version__}, gloo)")
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    mp.spawn(worker, args=(a.ranks, port, a.steps, a.warmup, out), nprocs=a.ranks, join=True)
    print(out.get())


if __name__ == "__main__":
    main()
