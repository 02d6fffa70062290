#!/usr/bin/env python3
"""gpt_torch.py: the PyTorch side of bench/gpt_vs_torch.sh. Times the forward +
backward of the same GPT as pipegrid's model.type=gpt, as a user would write it
in eager PyTorch, and prints one line the script parses:

    tools/py bench/gpt_torch.py --depth 4 --width 256 --heads 4 --vocab 256 \
        --ctx 128 --batch 8 --threads 2 --iters 10 --warmup 2
    torch: ms 141.2 tokens/s 7252 rss_mb 512.3 (median of 10, torch 2.15.0)

The model: token + position embedding, pre-LN blocks (qkv Linear with bias,
F.scaled_dot_product_attention with is_causal=True, proj, LayerNorm, 4C MLP
with tanh GELU), final LayerNorm, an LM head tied to the token embedding, mean
cross-entropy over all B x T positions; no dropout; fp32. One iteration =
forward, loss, backward (gradients set to None between iterations, outside
the timed region, as a training loop's zero_grad does). ms = median per
iteration; rss_mb = the process's peak resident set (getrusage ru_maxrss).
"""
import argparse
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from pyreq import require  # noqa: E402
require(__file__, "torch")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln1 = nn.LayerNorm(C)
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        self.ln2 = nn.LayerNorm(C)
        self.fc = nn.Linear(C, 4 * C)
        self.fcproj = nn.Linear(4 * C, C)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.NH, C // self.NH).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B,NH,T,hs)
        x = x + self.proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, V, T, C, NH, L):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.blocks = nn.ModuleList(Block(C, NH) for _ in range(L))
        self.lnf = nn.LayerNorm(C)
        self.head = nn.Linear(C, V, bias=False)
        self.head.weight = self.wte.weight  # tied
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)

    def forward(self, tokens, labels):
        B, T = tokens.shape
        x = self.wte(tokens) + self.wpe(torch.arange(T))
        for b in self.blocks:
            x = b(x)
        logits = self.head(self.lnf(x))
        return F.cross_entropy(logits.view(B * T, -1), labels.view(B * T))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for k, v in (("depth", 4), ("width", 256), ("heads", 4), ("vocab", 256), ("ctx", 128),
                 ("batch", 8), ("threads", 2), ("iters", 10), ("warmup", 2)):
        ap.add_argument("--" + k, type=int, default=v)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = GPT(a.vocab, a.ctx, a.width, a.heads, a.depth)
    tokens = torch.randint(0, a.vocab, (a.batch, a.ctx))
    labels = torch.randint(0, a.vocab, (a.batch, a.ctx))
    times = []
    for i in range(a.warmup + a.iters):
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        loss = model(tokens, labels)
        loss.backward()
        t = time.perf_counter() - t0
        if i >= a.warmup:
            times.append(t)
    ms = statistics.median(times) * 1e3
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"torch: ms {ms:.2f} tokens/s {a.batch * a.ctx / ms * 1e3:.0f} rss_mb {rss:.1f} "
          f"(median of {a.iters}, torch {torch.__version__}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
