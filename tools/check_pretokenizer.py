#!/usr/bin/python3
"""Cross-checks edgelm's hand-written pre-tokenizers against the regexes they
implement, run by Python's `regex` module (Debian: python3-regex), on random
strings drawn from a pool of tricky characters.

Usage: tools/check_pretokenizer.py [--bin build/bin/edgelm] [--n 2000]"""
import argparse
import json
import os
import random
import subprocess
import sys

import regex

PATTERNS = {
    "gpt-2": r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    "llama-bpe": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
    "qwen2": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
}
POOL = list("aZé가힣ㄱ一 \t\n\r'sStTrReEvVmMlLdD019½٣.,!?$+<=>^~|`(){}[]\"-_*/\\@#%&") + [
    "\u3000", "\u00a0", "\u2028", "\u0301", "😀", "👍🏽", "\u200b", "\x0b", "\x1c", "\x85", "ß"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "bin", "edgelm"))
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    rng = random.Random(1)
    texts = ["".join(rng.choice(POOL) for _ in range(rng.randint(1, 24))) for _ in range(args.n)]
    ok = True
    for name, pattern in PATTERNS.items():
        r = subprocess.run([args.bin, "tokenizer", "split", "--pre", name], input="\n".join(json.dumps(t) for t in texts),
                           capture_output=True, text=True, check=True)
        got = [json.loads(l) for l in r.stdout.split("\n") if l]
        bad = [(t, g, regex.findall(pattern, t)) for t, g in zip(texts, got) if g != regex.findall(pattern, t)]
        print(f"{name}: {len(texts) - len(bad)}/{len(texts)} agree")
        for t, g, w in bad[:5]:
            print(f"  {t!r}\n    edgelm {g}\n    regex  {w}")
        ok &= not bad
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
