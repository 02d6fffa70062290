#!/usr/bin/env bash
# prep_from.sh: `pipegrid prep --from` reads the token files other tools write
# (llm.c .bin with its header, nanoGPT's raw uint16 .bin, numpy .npy uint16
# and int32) into token datasets holding exactly the same ids, and a GPT
# trains on one. (Bad files: the tok_* cases of the bad-input corpus.)
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$PG_PYTHON" - "$out" <<'PY'
import sys
import numpy as np
d = sys.argv[1]
t = np.random.default_rng(7).integers(0, 300, 5000).astype("<u2")
t[0] = 299
h = np.zeros(256, "<i4"); h[:3] = [20240520, 1, len(t)]
open(f"{d}/llmc.bin", "wb").write(h.tobytes() + t.tobytes())
t.tofile(f"{d}/raw.bin")
np.save(f"{d}/u2.npy", t)
np.save(f"{d}/i4.npy", t.astype("<i4"))
np.save(f"{d}/want.npy", t)
PY
for f in llmc.bin raw.bin u2.npy i4.npy; do
  "$PIPEGRID" prep --from "$out/$f" --vocab 300 -o "$out/$f.h5" | tee "$out/log"
  grep -q "^wrote $out/$f.h5: 5000 tokens from $out/$f (" "$out/log" || fail "$f: no summary"
done
grep -q "(llm.c .bin)" <("$PIPEGRID" prep --from "$out/llmc.bin" --vocab 300 -o "$out/x.h5") || fail "llm.c format not recognised"
"$PG_PYTHON" - "$out" <<'PY' || fail "dataset content"
import sys
import h5py, numpy as np
d = sys.argv[1]
want = np.load(f"{d}/want.npy")
for f in ["llmc.bin", "raw.bin", "u2.npy", "i4.npy"]:
    with h5py.File(f"{d}/{f}.h5", "r") as h:
        got = h["tokens"][()]
        assert np.array_equal(got.astype(np.int64), want.astype(np.int64)), f
        assert h["tokens"].attrs["vocab_size"] == 300, f
        assert h["tokens"].attrs["tokenizer"] == b"external", h["tokens"].attrs["tokenizer"]
        assert list(h["doc_offsets"][()]) == [0], f
print("datasets ok: 4 formats, 5000 ids each, equal to the source")
PY
"$PIPEGRID" prep --check "$out/u2.npy.h5" --vocab 300 | grep -q "5000 tokens, vocab_size 300, tokenizer external" ||
  fail "prep --check"
timeout 120 "$MPIEXEC" -n 2 "$PIPEGRID" train --pp 2 --steps 2 --set data.path="$out/raw.bin.h5" \
  --set model.vocab=300 --set model.ctx=16 --set model.width=32 --set model.depth=2 \
  --set train.batch_size=4 --set train.eval_every=0 | tee "$out/train"
grep -q "^done: 2 steps" "$out/train" || fail "training on the dataset"
echo ok
