#!/usr/bin/python3
"""SentencePiece BPE on the same text as `edgelm bench tokenizer`, single thread:
train at the given vocabulary size, encode every line, decode every line.
Prints one JSON object: train_seconds, encode_mb_per_s, decode_mb_per_s, n_tokens.

Usage: bench/sentencepiece_bench.py --input corpus.txt --vocab-size 8000"""
import argparse
import json
import os
import tempfile
import time

import sentencepiece as spm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--vocab-size", type=int, default=8000)
    args = ap.parse_args()
    with open(args.input, encoding="utf-8") as f:
        lines = f.read().split("\n")
    n_bytes = sum(len(l.encode()) for l in lines)
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "sp")
        t0 = time.perf_counter()
        spm.SentencePieceTrainer.train(input=args.input, model_prefix=prefix, vocab_size=args.vocab_size, model_type="bpe",
                                       num_threads=1, character_coverage=1.0, byte_fallback=True, input_sentence_size=0,
                                       shuffle_input_sentence=False, hard_vocab_limit=False, max_sentence_length=1 << 16,
                                       minloglevel=2)
        train_seconds = time.perf_counter() - t0
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    t0 = time.perf_counter()
    ids = sp.encode(lines, num_threads=1)
    encode_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    sp.decode(ids, num_threads=1)
    decode_seconds = time.perf_counter() - t0
    print(json.dumps({
        "train_seconds": round(train_seconds, 4),
        "encode_mb_per_s": round(n_bytes / 1e6 / encode_seconds, 3),
        "decode_mb_per_s": round(n_bytes / 1e6 / decode_seconds, 3),
        "n_tokens": sum(len(x) for x in ids),
        "vocab_size": sp.get_piece_size(),
    }))


if __name__ == "__main__":
    main()
