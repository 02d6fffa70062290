#!/usr/bin/env bash
# bad_setup.sh OUT BAD_DATA TAMPER: the generated half of the bad-input corpus
# (the fixture of the bad_* tests, docs/reliability.md). Writes into OUT:
#   data/*.h5     token datasets that each break one rule (tests/support/bad_data.c),
#                 data/truncated.h5 (half of a good one)
#   ckpt/         a good checkpoint of the tiny MLP of cli/bad/tiny_mlp.ini
#                 (step_00000002.h5 and latest)
#   ckpt_*.h5     copies of it, each damaged one way (tests/support/ckpt_tamper.c)
#   nolatest/     a directory without `latest`; badlatest/ whose `latest`
#                 names a missing file
#   hf_*/         Hugging Face GPT-2 directories (train --init-from), each broken
#                 one way (hf_good/ is not)
#   bpe/          tokenizer.json files (prep --tokenizer), each broken one way,
#                 and a text that is not UTF-8
#   tok/          token files for `prep --from` (llm.c/nanoGPT .bin, numpy .npy),
#                 each broken one way, and good ones with an out-of-range id
set -eu
out=$1 bad_data=$2 tamper=$3
rm -rf "$out"
mkdir -p "$out/data" "$out/nolatest" "$out/badlatest"
"$bad_data" "$out/data"
cp "$out/data/good.h5" "$out/data/truncated.h5"
truncate -s $(( $(stat -c %s "$out/data/good.h5") / 2 )) "$out/data/truncated.h5"

timeout 120 "$MPIEXEC" -n 1 "$PIPEGRID" train --config cli/bad/tiny_mlp.ini --steps 2 \
  --set checkpoint.every=2 --set checkpoint.dir="$out/ckpt" >"$out/train.log" 2>&1 ||
  { cat "$out/train.log"; exit 1; }
good=$out/ckpt/step_00000002.h5
ds=/params/layers.0.weight
damage() { # NAME ACTION ARGS...: OUT/ckpt_NAME.h5 = good checkpoint, then ckpt_tamper ACTION ARGS
  local name=$1; shift
  cp "$good" "$out/ckpt_$name.h5"
  "$tamper" "$out/ckpt_$name.h5" "$@"
}
damage flip flip $ds
damage missing delete $ds
damage shape reshape $ds
damage dtype dtype $ds
damage nocrc nocrc $ds
damage extra extra /params/stray
damage no_step attr step -
damage no_format attr format -
damage newer attr format_version 99
damage negative_step attr step -4
damage optim_step attr optimizer_step -7
damage step_text attr step twelve
damage step6 attr step 6
damage nan nan $ds
damage bad_config attr config "[model"
# a recorded config claiming a 4 TiB embedding (fuzz_ckpt found verify allocating it)
damage huge_config attr config "$(printf '[model]\ntype = gpt\nvocab = 16777216\nwidth = 65536\n')"
cp "$good" "$out/ckpt_truncated.h5"
truncate -s $(( $(stat -c %s "$good") / 2 )) "$out/ckpt_truncated.h5"
echo "not a checkpoint" > "$out/ckpt_text.h5"
: > "$out/ckpt_empty.h5"
echo step_00000099.h5 > "$out/badlatest/latest"

mkdir -p "$out/tok"
"$PG_PYTHON" - "$out/tok" <<'PY'
import os, sys
import numpy as np
d = sys.argv[1]
def w(name, data): open(os.path.join(d, name), "wb").write(data)
def header(version=1, count=4):
    h = np.zeros(256, "<i4"); h[0] = 20240520; h[1] = version; h[2] = count
    return h.tobytes()
tok = np.array([1, 2, 60000, 3], "<u2")
w("odd.bin", b"\x01\x00\x02\x00\x03")                      # 5 bytes of raw uint16
w("llmc_version.bin", header(version=2) + tok.tobytes())     # llm.c's uint32 format
w("llmc_count.bin", header(count=100) + tok.tobytes())       # declares more than it holds
w("llmc_short.bin", header()[:100])                          # the header itself cut
w("big_id.bin", header() + tok.tobytes())                    # id 60000 > GPT-2's 50257
w("empty.bin", b"")
np.save(os.path.join(d, "float.npy"), tok.astype("<f4"))
np.save(os.path.join(d, "matrix.npy"), np.zeros((2, 3), "<u2"))
np.save(os.path.join(d, "int64.npy"), tok.astype("<i8"))
np.save(os.path.join(d, "big_id.npy"), tok.astype("<i4"))
raw = open(os.path.join(d, "big_id.npy"), "rb").read()
w("cut.npy", raw[:-3])                                       # data shorter than its shape
w("version.npy", raw[:6] + b"\x09\x00" + raw[8:])           # format version 9
PY

"$PG_PYTHON" - "$out" <<'PY'
import json, os, shutil, sys
import numpy as np
from safetensors.numpy import save_file
d = sys.argv[1]
V, P, C = 256, 8, 8
cfg = {"model_type": "gpt2", "vocab_size": V, "n_positions": P, "n_embd": C, "n_layer": 2,
       "n_head": 2}
t = {"transformer.wte.weight": (V, C), "transformer.wpe.weight": (P, C),
     "transformer.ln_f.weight": (C,), "transformer.ln_f.bias": (C,)}
for n, s in [("ln_1.weight", (C,)), ("ln_1.bias", (C,)), ("attn.c_attn.weight", (C, 3 * C)),
             ("attn.c_attn.bias", (3 * C,)), ("attn.c_proj.weight", (C, C)),
             ("attn.c_proj.bias", (C,)), ("ln_2.weight", (C,)), ("ln_2.bias", (C,)),
             ("mlp.c_fc.weight", (C, 4 * C)), ("mlp.c_fc.bias", (4 * C,)),
             ("mlp.c_proj.weight", (4 * C, C)), ("mlp.c_proj.bias", (C,))]:
    t["transformer.h.0." + n] = t["transformer.h.1." + n] = s
def make(name, config=cfg, tensors=None, drop=None):
    p = os.path.join(d, name)
    os.makedirs(p)
    json.dump(config, open(os.path.join(p, "config.json"), "w"))
    ts = {k: np.zeros(s, "<f4") for k, s in t.items() if k != drop}
    ts.update(tensors or {})
    save_file(ts, os.path.join(p, "model.safetensors"), metadata={"format": "pt"})
    return p
make("hf_good")
make("hf_relu", dict(cfg, activation_function="relu"))
make("hf_eps", dict(cfg, layer_norm_epsilon=1e-6))
make("hf_llama", dict(cfg, model_type="llama"))
make("hf_inner", dict(cfg, n_inner=3 * C))
make("hf_missing_tensor", drop="transformer.h.0.mlp.c_fc.weight")
make("hf_shape", tensors={"transformer.h.0.attn.c_attn.weight": np.zeros((3 * C, C), "<f4")})
make("hf_f16", tensors={"transformer.wte.weight": np.zeros((V, C), "<f2")})
p = make("hf_no_weights"); os.remove(os.path.join(p, "model.safetensors"))
p = make("hf_no_config"); os.remove(os.path.join(p, "config.json"))
p = make("hf_bad_json"); open(os.path.join(p, "config.json"), "w").write('{"model_type": "gpt2",')
p = make("hf_truncated")
f = os.path.join(p, "model.safetensors"); data = open(f, "rb").read(); open(f, "wb").write(data[:40])
p = make("hf_text_weights"); open(os.path.join(p, "model.safetensors"), "w").write("not tensors\n")
PY

mkdir -p "$out/bpe"
"$PG_PYTHON" - "$out/bpe" <<'PY'
import copy, json, os, sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
d = sys.argv[1]
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
tok.train_from_iterator(["the licensee the license the"] * 20, trainers.BpeTrainer(
    vocab_size=270, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
good = json.loads(tok.to_str())
def w(name, j):
    with open(os.path.join(d, name), "w") as f:
        f.write(j if isinstance(j, str) else json.dumps(j))
def broken(name, change):
    j = copy.deepcopy(good); change(j); w(name, j)
w("good.json", good)
w("not_json.json", '{"model": {"type": "BPE",')
broken("wordpiece.json", lambda j: j["model"].update(type="WordPiece"))
broken("bad_merge.json", lambda j: j["model"]["merges"].insert(0, ["zz", "qq"]))
broken("no_byte.json", lambda j: j["model"]["vocab"].update(ZZZQ=j["model"]["vocab"].pop("A")))
broken("normalizer.json", lambda j: j.update(normalizer={"type": "NFC"}))
broken("whitespace.json", lambda j: j.update(pre_tokenizer={"type": "Whitespace"}))
broken("added.json", lambda j: j.update(added_tokens=[{"id": 270, "content": "<eos>"}]))
broken("dropout.json", lambda j: j["model"].update(dropout=0.1))
open(os.path.join(d, "latin1.txt"), "wb").write(b"caf\xe9 latin-1, not UTF-8\n")
PY

echo "ok: bad inputs in $out"
