#!/usr/bin/env bash
# bpe.sh: byte-level BPE (docs/dataset.md, "BPE tokenizers").
#  1. tools/bpe_train.py trains a 1024-token tokenizer on the built-in corpus
#     with Hugging Face tokenizers; `pipegrid prep --default --tokenizer`
#     encodes the corpus in C to exactly the ids the Python library gives,
#     token for token (and a UTF-8 text beyond ASCII too);
#  2. the dataset stores the tokenizer and the text's byte count;
#  3. a gpt trains on it and reports its validation loss in bits per byte, as
#     the byte-level run does (loss / ln 2 / bytes per token);
#  4. `pipegrid sample` encodes the prompt and decodes with the stored tokenizer.
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
py() { "$PG_PYTHON" "$@"; }
py ../tools/bpe_train.py --vocab 1024 -o "$out/tok.json"
py ../tools/bpe_train.py --encode "$out/tok.json" -o "$out/py.npy"
"$PIPEGRID" prep --default --tokenizer "$out/tok.json" -o "$out/bpe.h5" | tee "$out/prep"
grep -q "tokenizer bpe" "$out/prep" || fail "prep summary"
printf 'Caf\xc3\xa9 na\xc3\xafve \xe2\x80\x94 \xe6\x9d\xb1\xe4\xba\xac 2024\xe5\xb9\xb4 \xc2\xb2 \xf0\x9f\x99\x82  x\t\ty\n\n  z\r\nend  ' >"$out/utf8.txt"
py ../tools/bpe_train.py --encode "$out/tok.json" "$out/utf8.txt" -o "$out/py_utf8.npy"
"$PIPEGRID" prep "$out/utf8.txt" --tokenizer "$out/tok.json" -o "$out/utf8.h5" >/dev/null
py - "$out" <<'PY' || fail "C and Python encodings differ"
import sys
import h5py, numpy as np
d = sys.argv[1]
for h5, npy in [("bpe.h5", "py.npy"), ("utf8.h5", "py_utf8.npy")]:
    with h5py.File(f"{d}/{h5}", "r") as f:
        c, p = f["tokens"][()].astype(np.int64), np.load(f"{d}/{npy}").astype(np.int64)
        same = len(c) == len(p) and np.array_equal(c, p)
        first = next((i for i in range(min(len(c), len(p))) if c[i] != p[i]), None)
        print(f"{h5}: C {len(c)} ids, Python {len(p)} ids, equal: {same}"
              + ("" if same else f", first difference at {first}"))
        assert same
        if h5 == "bpe.h5":
            a = f["tokens"].attrs
            assert a["tokenizer"] == b"bpe" and a["vocab_size"] == 1024, dict(a)
            assert a["text_bytes"] == 237320, a["text_bytes"]
            assert f["tokenizer_json"][()].decode() == open(f"{d}/tok.json").read()
PY
run=(timeout 300 "$MPIEXEC" -n 2 "$PIPEGRID" train --pp 2 --steps 20 --set model.ctx=32
     --set model.width=32 --set model.depth=2 --set train.eval_every=20 --set checkpoint.every=20)
"${run[@]}" --set model.vocab=1024 --set data.path="$out/bpe.h5" \
  --set checkpoint.dir="$out/ck_bpe" >"$out/train_bpe"
"${run[@]}" --set checkpoint.dir="$out/ck_bytes" >"$out/train_bytes"
for k in bpe bytes; do
  line=$(grep '^eval ' "$out/train_$k") || fail "$k: no eval line"
  echo "$k: $line"
  loss=$(sed -E 's/.*val loss ([0-9.]+) .*/\1/' <<<"$line")
  bpb=$(sed -E 's/.*\(([0-9.]+) bits\/byte\).*/\1/' <<<"$line")
  ratio=$([ $k = bpe ] && echo "237320 / 76290" || echo 1)
  awk -v l="$loss" -v b="$bpb" -v r="$(awk "BEGIN { print $ratio }")" \
    'BEGIN { want = l / log(2) / r; exit !(b > want - 1e-3 && b < want + 1e-3) }' ||
    fail "$k: $bpb bits/byte is not loss / ln 2 / bytes per token"
done
"$PIPEGRID" sample "$out/ck_bpe" --prompt "The licensee " -n 40 >"$out/s1" 2>"$out/err"
"$PIPEGRID" sample "$out/ck_bpe" --prompt "The licensee " -n 40 --tokenizer "$out/tok.json" >"$out/s2" 2>>"$out/err"
cmp -s "$out/s1" "$out/s2" || fail "the stored tokenizer and the file sample differently"
[ "$(head -c 13 "$out/s1")" = "The licensee " ] || fail "the prompt is not printed first"
n=$(py -c 'import sys; from tokenizers import Tokenizer; print(len(Tokenizer.from_file(sys.argv[1]).encode("The licensee ").ids))' "$out/tok.json")
[ "$n" -lt 13 ] && grep -q "40 tokens after a $n-token prompt" "$out/err" ||
  fail "the prompt was not BPE-encoded into $n tokens: $(cat "$out/err")"
cat "$out/s1"
echo ok
