#!/usr/bin/python3
"""Reference logits for edgelm's inference test.

Reads a tiny Llama-family GGUF model that edgelm wrote (GGUF parsed here with
struct/numpy, no gguf package), runs the forward pass in PyTorch in float64,
and writes the logits of every position of a fixed token sequence as JSON:

    {"model": "<file name>", "tokens": [...], "logits": [[n_vocab floats] per token]}

Conventions (as llama.cpp's "llama" architecture): RMSNorm x / sqrt(mean(x^2) + eps) * g;
RoPE on adjacent pairs (x[2i], x[2i+1]) with theta_i = base^(-2i/head_dim);
grouped-query attention, head h reading kv head h // (heads / kv_heads);
causal with an optional sliding window (a query at position p sees keys p-W+1..p);
SwiGLU down(silu(gate x) * up x); the head is token_embd.weight unless output.weight exists.

Usage: tools/ref_logits.py MODEL.gguf OUT.json [--tokens 1,2,3]
"""
import argparse
import json
import os
import struct

import numpy as np
import torch

GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
F32, F16, BF16 = 0, 1, 30


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def scalar(self, fmt):
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self):
        n = self.scalar("<Q")
        s = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def value(self, vtype):
        if vtype in GGUF_SCALARS:
            return self.scalar(GGUF_SCALARS[vtype])
        if vtype == 8:
            return self.string()
        if vtype == 9:
            elem_type, n = self.scalar("<I"), self.scalar("<Q")
            return [self.value(elem_type) for _ in range(n)]
        raise ValueError(f"unknown GGUF value type {vtype}")


def read_gguf(path):
    with open(path, "rb") as f:
        data = f.read()
    r = Reader(data)
    if data[:4] != b"GGUF":
        raise ValueError(f"{path}: not a GGUF file")
    r.pos = 4
    version, n_tensors, n_kv = r.scalar("<I"), r.scalar("<Q"), r.scalar("<Q")
    if version != 3:
        raise ValueError(f"{path}: GGUF version {version}, expected 3")
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.scalar("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.scalar("<I")
        ne = [r.scalar("<Q") for _ in range(n_dims)]
        ttype, offset = r.scalar("<I"), r.scalar("<Q")
        infos.append((name, ne, ttype, offset))
    align = meta.get("general.alignment", 32)
    data_start = (r.pos + align - 1) // align * align
    tensors = {}
    for name, ne, ttype, offset in infos:
        count = int(np.prod(ne))
        start = data_start + offset
        if ttype == F32:
            values = np.frombuffer(data, dtype="<f4", count=count, offset=start).astype(np.float64)
        elif ttype == F16:
            values = np.frombuffer(data, dtype="<f2", count=count, offset=start).astype(np.float64)
        elif ttype == BF16:
            bits = np.frombuffer(data, dtype="<u2", count=count, offset=start).astype(np.uint32) << 16
            values = bits.view(np.float32).astype(np.float64)
        else:
            raise ValueError(f"{name}: tensor type {ttype} is not handled by this script")
        # ggml order: ne[0] is contiguous, so the numpy shape is ne reversed.
        tensors[name] = torch.from_numpy(values.reshape(list(reversed(ne))).copy())
    return meta, tensors


def rms_norm(x, gain, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * gain


def rope(x, positions, base):
    # x: (T, heads, head_dim); rotate adjacent pairs.
    head_dim = x.shape[-1]
    inv_freq = torch.tensor([base ** (-2.0 * i / head_dim) for i in range(head_dim // 2)], dtype=torch.float64)
    angles = positions[:, None].double() * inv_freq[None, :]  # (T, head_dim/2)
    cos, sin = torch.cos(angles)[:, None, :], torch.sin(angles)[:, None, :]
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = a * cos - b * sin
    out[..., 1::2] = a * sin + b * cos
    return out


def forward(meta, w, tokens):
    n_layers = meta["llama.block_count"]
    n_heads = meta["llama.attention.head_count"]
    n_kv = meta.get("llama.attention.head_count_kv", n_heads)
    dim = meta["llama.embedding_length"]
    head_dim = meta.get("llama.attention.key_length", dim // n_heads)
    eps = meta.get("llama.attention.layer_norm_rms_epsilon", 1e-5)
    base = meta.get("llama.rope.freq_base", 10000.0)
    window = meta.get("llama.attention.sliding_window", 0)
    T = len(tokens)
    pos = torch.arange(T)
    x = w["token_embd.weight"][torch.tensor(tokens)]
    mask = pos[None, :] <= pos[:, None]  # (query, key): causal
    if window > 0:
        mask &= pos[None, :] > pos[:, None] - window
    for l in range(n_layers):
        p = f"blk.{l}."
        h = rms_norm(x, w[p + "attn_norm.weight"], eps)
        q = (h @ w[p + "attn_q.weight"].T).view(T, n_heads, head_dim)
        k = (h @ w[p + "attn_k.weight"].T).view(T, n_kv, head_dim)
        v = (h @ w[p + "attn_v.weight"].T).view(T, n_kv, head_dim)
        q, k = rope(q, pos, base), rope(k, pos, base)
        k = k.repeat_interleave(n_heads // n_kv, dim=1)
        v = v.repeat_interleave(n_heads // n_kv, dim=1)
        scores = torch.einsum("thd,shd->hts", q, k) / head_dim ** 0.5
        scores = scores.masked_fill(~mask[None], float("-inf"))
        att = torch.einsum("hts,shd->thd", torch.softmax(scores, dim=-1), v).reshape(T, n_heads * head_dim)
        x = x + att @ w[p + "attn_output.weight"].T
        h = rms_norm(x, w[p + "ffn_norm.weight"], eps)
        gate = h @ w[p + "ffn_gate.weight"].T
        up = h @ w[p + "ffn_up.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ w[p + "ffn_down.weight"].T
    h = rms_norm(x, w["output_norm.weight"], eps)
    head = w.get("output.weight", w["token_embd.weight"])
    return h @ head.T


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--tokens", default="1,7,3,29,11,0,42,5,17,8,23,2,31,9")
    args = ap.parse_args()
    meta, w = read_gguf(args.model)
    tokens = [int(t) for t in args.tokens.split(",")]
    logits = forward(meta, w, tokens)
    with open(args.out, "w") as f:
        json.dump({"model": os.path.basename(args.model), "tokens": tokens,
                   "logits": [[float(v) for v in row] for row in logits.tolist()]}, f)
        f.write("\n")
    print(f"wrote {args.out}: {len(tokens)} tokens x {logits.shape[1]} logits, |max| {logits.abs().max().item():.3f}")


if __name__ == "__main__":
    main()
