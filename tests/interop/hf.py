#!/usr/bin/env python3
"""hf.py: pipegrid and Hugging Face transformers on the same GPT-2 weights.

    tools/py tests/interop/hf.py PIPEGRID MPIEXEC GPT_LOGITS WORKDIR

1. A randomly initialised GPT2LMHeadModel (tiny config; every parameter, LayerNorms and
   biases included, perturbed so that none is trivial; tied and untied head) is saved with
   save_pretrained; pipegrid's forward of it (gpt_logits) equals transformers' logits within
   1e-4 relative (fp32). No weights are downloaded.
2. `pipegrid train --init-from DIR` trains it one step on 2 ranks (pp=2) and saves a
   checkpoint; `pipegrid export --format hf` writes it out; transformers loads that with no
   missing or unexpected tensor, and its logits equal pipegrid's for the checkpoint.
3. The same 2 steps from DIR on pp=2 x dp=2 (4 ranks) and on one rank: the two exports have
   the same config.json and the same tensors within 1e-5 relative (the grid invariant's
   tolerance; the data-parallel sum changes the rounding).
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from pyreq import require  # noqa: E402
require(__file__, "torch", "transformers", "safetensors", "numpy")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402
from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402

PIPEGRID, MPIEXEC, GPT_LOGITS, WORK = sys.argv[1:5]
T = 32
failures = []
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def run(*cmd):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300)
    if p.returncode:
        sys.exit(f"hf.py: {' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p.stdout


def hf_model(tied, seed):
    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=256, n_positions=T, n_embd=32, n_layer=2, n_head=4,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     tie_word_embeddings=tied)
    m = GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():
        for name, p in m.named_parameters():
            p.add_(torch.randn_like(p) * (0.1 if "ln" in name else 0.05))
    return m


def logits_hf(m, tokens):
    with torch.no_grad():
        return m(torch.tensor([tokens])).logits[0].double().numpy()


def logits_pg(src, tokens, tag):
    tok = os.path.join(WORK, f"{tag}.tokens")
    out = os.path.join(WORK, f"{tag}.logits")
    np.asarray(tokens, "<i4").tofile(tok)
    run(GPT_LOGITS, src, tok, out)
    return np.fromfile(out, "<f4").reshape(len(tokens), -1).astype(np.float64)


def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


tokens = list(np.random.default_rng(3).integers(0, 256, T))

# 1. import: the same logits
for tied in (True, False):
    d = os.path.join(WORK, f"hf_{'tied' if tied else 'untied'}")
    m = hf_model(tied, 11 if tied else 12)
    m.save_pretrained(d)
    r = rel(logits_pg(d, tokens, f"import_{tied}"), logits_hf(m, tokens))
    check(r < 1e-4, f"import ({'tied' if tied else 'untied'} head): logits within 1e-4 "
                    f"relative of transformers' (measured {r:.2e})")

# 2. train one step from it, export, load back
src = os.path.join(WORK, "hf_tied")
common = ["train", "--init-from", src, "--set", "train.batch_size=8", "--set", "train.eval_every=0",
          "--set", "train.log_every=1", "--set", "optim.lr=1e-2", "--set", "checkpoint.every=1"]
log = run(MPIEXEC, "-n", 2, PIPEGRID, *common, "--pp", 2, "--steps", 1,
          "--set", f"checkpoint.dir={WORK}/ck_pp2")
check(f"initialised from {src}" in log, "train --init-from says where it started")
exp = os.path.join(WORK, "export_pp2")
run(PIPEGRID, "export", f"{WORK}/ck_pp2", "--format", "hf", "-o", exp)
m2, info = GPT2LMHeadModel.from_pretrained(exp, output_loading_info=True)
m2.eval()
bad = {k: v for k, v in info.items() if v}
check(not bad, f"transformers loads the export with nothing missing or unexpected ({bad or 'none'})")
r = rel(logits_hf(m2, tokens), logits_pg(f"{WORK}/ck_pp2", tokens, "trained"))
check(r < 1e-4, f"exported after one step: transformers' logits within 1e-4 of pipegrid's (measured {r:.2e})")
m0 = GPT2LMHeadModel.from_pretrained(src)
moved = max(float((a - b).abs().max()) for a, b in zip(m0.parameters(), m2.parameters()))
check(moved > 1e-4, f"the step changed the weights (largest change {moved:.2e})")
check(m2.lm_head.weight.data_ptr() == m2.transformer.wte.weight.data_ptr(),
      "the exported head is tied to the token embedding")

# 3. pp=2 x dp=2 vs one rank
run(MPIEXEC, "-n", 4, PIPEGRID, *common, "--pp", 2, "--dp", 2, "--steps", 2,
    "--set", f"checkpoint.dir={WORK}/ck_2x2")
run(MPIEXEC, "-n", 1, PIPEGRID, *common, "--pp", 1, "--steps", 2,
    "--set", f"checkpoint.dir={WORK}/ck_1x1")
for g in ("2x2", "1x1"):
    run(PIPEGRID, "export", f"{WORK}/ck_{g}", "--format", "hf", "-o", f"{WORK}/export_{g}")
ca, cb = (json.load(open(f"{WORK}/export_{g}/config.json")) for g in ("2x2", "1x1"))
check(ca == cb, "pp=2 x dp=2 and pp=1 exports: the same config.json")
ta, tb = (load_file(f"{WORK}/export_{g}/model.safetensors") for g in ("2x2", "1x1"))
check(sorted(ta) == sorted(tb), f"the same {len(ta)} tensors")
worst = max(rel(ta[k].astype(np.float64), tb[k].astype(np.float64)) for k in ta if np.any(tb[k]))
check(worst < 1e-5, f"every tensor within 1e-5 relative (worst {worst:.2e})")

print(f"{len(failures)} failed" if failures else "all interop checks passed")
sys.exit(1 if failures else 0)
