#!/usr/bin/env python3
"""Train a byte-level BPE tokenizer with Hugging Face `tokenizers` and save its tokenizer.json.

    tools/py tools/bpe_train.py [FILE ...] --vocab 1024 -o tokenizer.json
    tools/py tools/bpe_train.py --encode tokenizer.json [FILE ...] -o ids.npy

Without FILEs it reads the built-in corpus: the regular files of /usr/share/common-licenses
in name order (symbolic links skipped), one document per file, as `pipegrid prep --default`
does. The tokenizer is GPT-2's kind: the ByteLevel pre-tokenizer (GPT-2's split regex, no
prefix space), BPE merges learnt from the bytes, every byte in the alphabet (no unknown
token), no special tokens. `pipegrid prep --tokenizer tokenizer.json` encodes with it in C
(docs/dataset.md). `--encode` writes the ids this library gives, all documents concatenated,
as an int32 .npy (for checking the C encoder against it).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyreq import require  # noqa: E402
require(__file__, "tokenizers", "numpy")

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402

CORPUS = "/usr/share/common-licenses"


def documents(files):
    if not files:
        files = [os.path.join(CORPUS, n) for n in sorted(os.listdir(CORPUS))
                 if os.path.isfile(os.path.join(CORPUS, n))
                 and not os.path.islink(os.path.join(CORPUS, n))]
    for f in files:
        try:
            with open(f, "rb") as fh:
                yield f, fh.read().decode("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            sys.exit(f"bpe_train.py: error: {f}: {e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", help="text files (default: the built-in corpus)")
    ap.add_argument("--vocab", type=int, default=1024, help="vocabulary size (default 1024)")
    ap.add_argument("--encode", metavar="TOKENIZER", help="encode FILEs with a saved tokenizer")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    if a.encode:
        import numpy as np
        tok = Tokenizer.from_file(a.encode)
        ids = [i for _, text in documents(a.files) for i in tok.encode(text).ids]
        np.save(a.output, np.asarray(ids, dtype="<i4"))
        print(f"{a.output}: {len(ids)} ids")
        return
    if a.vocab < 257:
        sys.exit("bpe_train.py: error: --vocab must be at least 257 (the 256 bytes and one merge)")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=a.vocab, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=[], show_progress=False)
    docs = list(documents(a.files))
    tok.train_from_iterator((text for _, text in docs), trainer=trainer)
    tok.save(a.output)
    n = sum(len(tok.encode(text).ids) for _, text in docs)
    b = sum(len(text.encode("utf-8")) for _, text in docs)
    print(f"{a.output}: byte-level BPE, vocab {tok.get_vocab_size()}, {len(docs)} documents: "
          f"{b} bytes -> {n} tokens ({b / n:.2f} bytes per token)")


if __name__ == "__main__":
    main()
