#!/usr/bin/python3
"""How much a model's answers depend on the surface of a command: its capitals and closing punctuation.

Writes three variants of a case file next to the original and runs `edgelm eval` on each (one thread):
  as written   the cases unchanged
  no closing   every user turn without its closing punctuation ("is the hall light on")
  question     every user turn ending in "?" ("turn on the lights?")
  capitals     every user turn in capitals ("LOCK THE FRONT DOOR NOW"; Hangul has no case)
and prints each one's functional success. A model that reads a command by its words scores the same on
all four; one that learned "?" as the sign of a question, or never saw capitals, does not.

Usage: bench/surface_variants.py MODEL.gguf CASES.jsonl [--domain D] [--edgelm build/bin/edgelm]
"""
import argparse
import json
import os
import subprocess
import tempfile

CLOSING = " ?!.\u2026"

VARIANTS = {
    "as written": lambda t: t,
    "no closing": lambda t: t.rstrip(CLOSING),
    "question": lambda t: t.rstrip(CLOSING) + "?",
    "capitals": lambda t: t.upper(),
}


def variant(case, change):
    c = json.loads(json.dumps(case))
    if "text" in c:
        c["text"] = change(c["text"])
    for m in c.get("messages", []):
        if m.get("role") == "user" and isinstance(m.get("content"), str):
            m["content"] = change(m["content"])
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("cases")
    ap.add_argument("--domain", default="")
    ap.add_argument("--edgelm", default="build/bin/edgelm")
    a = ap.parse_args()
    with open(a.cases, encoding="utf-8") as f:
        cases = [json.loads(line) for line in f if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        for name, change in VARIANTS.items():
            path = os.path.join(tmp, "cases.jsonl")
            with open(path, "w", encoding="utf-8") as f:
                for c in cases:
                    f.write(json.dumps(variant(c, change), ensure_ascii=False) + "\n")
            cmd = [a.edgelm, "eval", "--model", a.model, "--cases", path, "--report", os.path.join(tmp, "report"),
                   "--quiet", "--threads", "1"]
            if a.domain:
                cmd += ["--domain", a.domain]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            o = json.loads(out.strip().splitlines()[-1])["overall"]
            print(f"{name:<11} {o['passed']:>4}/{o['n']:<4} {100 * o['passed'] / max(1, o['n']):5.1f}%")


if __name__ == "__main__":
    main()
