"""torch_gpt2.py: the PyTorch baseline of the GPU kit's bench (tests/gpu/run.sh).

Times the same work as gpu_bench on the same shape: one training iteration
(forward, backward, AdamW) of a GPT-2-small-shaped model (12 layers, width
768, 12 heads, vocab 50257, T = 1024, batch 8, tied embeddings, GELU tanh,
pre-LayerNorm) on random tokens, at fp32 (no TF32), tf32 (TF32 matmuls) and
bf16 (autocast, fp32 master weights), 2 warm-up and --iters timed
iterations, timed to the device's completion. Prints one line per precision,
and "json: {...}" for run.sh. Written from the GPT-2 architecture, not from
pipegrid's code; attention is torch's scaled_dot_product_attention (fused
kernels where torch has them), which pipegrid does not have.

    python3 torch_gpt2.py [--precisions fp32,tf32,bf16] [--iters 10] [--batch 8]
                          [--device cuda] [--depth 12 --width 768 --heads 12
                           --vocab 50257 --ctx 1024]
"""
import argparse
import json
import math
import os
import sys
import time

# tools/ of the repo: two folders up, from tests/gpu/ and from the kit's share/
# (the kit is unpacked in the repo's root); a kit elsewhere has none, and its
# run.sh checks for torch itself
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
try:
    from pyreq import require  # noqa: E402
except ImportError:
    require = None
if require:
    require(__file__, "torch")
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class Block(nn.Module):
    def __init__(self, C, H):
        super().__init__()
        self.H = H
        self.ln1, self.ln2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.qkv, self.proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.fc, self.out = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def forward(self, x):  # x (B, T, C)
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, hs)
        x = x + self.proj(a.transpose(1, 2).reshape(B, T, C))
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, V, T, L, C, H):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
        self.blocks = nn.ModuleList(Block(C, H) for _ in range(L))
        self.lnf = nn.LayerNorm(C)
        nn.init.normal_(self.wte.weight, std=0.02)  # GPT-2's initialisation
        nn.init.normal_(self.wpe.weight, std=0.02)

    def forward(self, idx, labels):  # idx, labels (B, T)
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for b in self.blocks:
            x = b(x)
        logits = self.lnf(x) @ self.wte.weight.t()  # tied head, (B, T, V)
        return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), labels.view(-1))


def run(a, precision):
    dev = torch.device(a.device)
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    torch.backends.cudnn.allow_tf32 = precision == "tf32"
    torch.manual_seed(1)
    m = GPT(a.vocab, a.ctx, a.depth, a.width, a.heads).to(dev)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
    idx = torch.randint(0, a.vocab, (a.batch, a.ctx), device=dev)
    lab = torch.randint(0, a.vocab, (a.batch, a.ctx), device=dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    times = []
    for k in range(-2, a.iters):
        sync()
        t0 = time.perf_counter()
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = m(idx, lab)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync()
        if k >= 0:
            times.append(time.perf_counter() - t0)
    t = sum(times) / len(times)
    loss = float(loss.detach())
    tokens = a.batch * a.ctx
    params = sum(p.numel() for p in m.parameters())
    r = {"precision": precision, "device": a.device, "torch": torch.__version__, "batch": a.batch,
         "ctx": a.ctx, "depth": a.depth, "width": a.width, "iters": a.iters, "params": params,
         "step_ms": round(t * 1e3, 3), "tokens_per_s": round(tokens / t, 1),
         "loss": round(loss, 4)}
    print(f"torch {torch.__version__} {precision}: {params} parameters, step {t * 1e3:.1f} ms, "
          f"{tokens / t:.0f} tokens/s (loss {loss:.3f})")
    print("json: " + json.dumps(r), flush=True)
    return math.isfinite(loss)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--precisions", default="fp32,tf32,bf16")
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--device", default="cuda")
    for k, v in (("depth", 12), ("width", 768), ("heads", 12), ("vocab", 50257), ("ctx", 1024)):
        p.add_argument("--" + k, type=int, default=v)
    a = p.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        print("torch_gpt2.py: torch sees no CUDA device")
        return 1
    ok = all([run(a, prec) for prec in a.precisions.split(",")])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
