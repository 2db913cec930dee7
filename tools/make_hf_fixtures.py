#!/usr/bin/python3
"""Hugging Face fixtures for edgelm's convert tests (tests/convert/).

Run from the repository root with Debian's PyTorch: tools/make_hf_fixtures.py [--edgelm build/bin/edgelm]

Into tests/fixtures/hf/ it writes
  tiny_llama/             a Llama folder made here: config.json, model.safetensors (F32, untied, GQA),
                          tokenizer.json (a copy of tests/fixtures/tokenizer/hand.tokenizer.json)
  tiny_llama_sharded/     another one in BF16, tied, split in two shards with model.safetensors.index.json,
                          and a rotary_emb.inv_freq buffer as older checkpoints carry
  export_tiny_gqa/        what `edgelm convert` writes from tests/fixtures/model/tiny_gqa.gguf
  export_tiny_window_untied_f16/   the same for the sliding-window, untied, F16 fixture (a Mistral folder)
and NAME.logits.json beside each folder: the logits of every position of a token sequence, computed
here in float64 by Hugging Face's Llama/Mistral forward pass (rotate_half rotary embeddings, written
out in plain torch), from the folder's own safetensors file(s), read here with struct and json.

The convert tests check edgelm's logits against these both ways: a folder made here imported into
GGUF, and an edgelm model exported (the export must also equal the committed folder tensor for tensor).
"""
import argparse
import json
import os
import shutil
import struct
import subprocess

import numpy as np
import torch

HERE = "tests/fixtures/hf"
DTYPES = {"F32": (np.dtype("<f4"), 4), "F16": (np.dtype("<f2"), 2), "BF16": (None, 2)}


# --- safetensors, by hand: 8-byte header length, JSON header, raw tensors ---

def write_safetensors(path, tensors):
    """tensors: list of (name, torch tensor); F32 / F16 / BF16 by the tensor's dtype."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors:
        t = t.contiguous()
        if t.dtype == torch.bfloat16:
            dtype, raw = "BF16", t.view(torch.int16).numpy().astype("<i2").tobytes()
        elif t.dtype == torch.float16:
            dtype, raw = "F16", t.numpy().astype("<f2").tobytes()
        else:
            dtype, raw = "F32", t.to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[base + begin:base + end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            values = bits.view(np.float32).astype(np.float64)
        else:
            values = np.frombuffer(raw, dtype=DTYPES[info["dtype"]][0]).astype(np.float64)
        out[name] = torch.from_numpy(values.reshape(info["shape"]).copy())
    return out


def read_folder(folder):
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    index = os.path.join(folder, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
    weights = {}
    for name in files:
        weights.update(read_safetensors(os.path.join(folder, name)))
    return config, weights


# --- Hugging Face's Llama / Mistral forward pass, float64 ---

def rms_norm(x, gain, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * gain


def rope_rotate_half(x, positions, base):
    # x: (T, heads, head_dim); Hugging Face rotates the two halves of each head.
    head_dim = x.shape[-1]
    inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = positions[:, None].double() * inv_freq[None, :]
    emb = torch.cat([angles, angles], dim=-1)
    cos, sin = torch.cos(emb)[:, None, :], torch.sin(emb)[:, None, :]
    x1, x2 = x[..., :head_dim // 2], x[..., head_dim // 2:]
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


def hf_forward(config, w, tokens):
    n_heads = config["num_attention_heads"]
    n_kv = config.get("num_key_value_heads", n_heads)
    head_dim = config.get("head_dim", config["hidden_size"] // n_heads)
    eps, base = config["rms_norm_eps"], config.get("rope_theta", 10000.0)
    window = config.get("sliding_window") or 0
    T = len(tokens)
    pos = torch.arange(T)
    mask = pos[None, :] <= pos[:, None]
    if window > 0:
        mask &= pos[None, :] > pos[:, None] - window
    x = w["model.embed_tokens.weight"][torch.tensor(tokens)]
    for l in range(config["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(T, n_heads, head_dim)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(T, n_kv, head_dim)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(T, n_kv, head_dim)
        q, k = rope_rotate_half(q, pos, base), rope_rotate_half(k, pos, base)
        k = k.repeat_interleave(n_heads // n_kv, dim=1)
        v = v.repeat_interleave(n_heads // n_kv, dim=1)
        scores = torch.einsum("thd,shd->hts", q, k) / head_dim ** 0.5
        scores = scores.masked_fill(~mask[None], float("-inf"))
        att = torch.einsum("hts,shd->thd", torch.softmax(scores, dim=-1), v).reshape(T, n_heads * head_dim)
        x = x + att @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        x = x + (torch.nn.functional.silu(h @ w[p + "mlp.gate_proj.weight"].T) * (h @ w[p + "mlp.up_proj.weight"].T)) \
            @ w[p + "mlp.down_proj.weight"].T
    h = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if config.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return h @ head.T


def write_logits(folder, tokens):
    config, w = read_folder(folder)
    logits = hf_forward(config, w, tokens)
    out = folder.rstrip("/") + ".logits.json"
    with open(out, "w") as f:
        json.dump({"folder": os.path.basename(folder.rstrip("/")), "tokens": tokens,
                   "logits": [[float(v) for v in row] for row in logits.tolist()]}, f)
        f.write("\n")
    print(f"wrote {out}: {len(tokens)} tokens x {logits.shape[1]} logits, |max| {logits.abs().max().item():.3f}")


# --- folders made here ---

def random_llama(config, tied, seed):
    g = torch.Generator().manual_seed(seed)
    C, F, V = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    H, K, hd = config["num_attention_heads"], config["num_key_value_heads"], config["head_dim"]
    # std 0.3 and norm gains around 1, so that every part moves the logits well above the tolerances.
    mat = lambda rows, cols: torch.randn(rows, cols, generator=g, dtype=torch.float64) * 0.3
    gain = lambda n: 1.0 + 0.2 * torch.randn(n, generator=g, dtype=torch.float64)
    t = [("model.embed_tokens.weight", mat(V, C))]
    for l in range(config["num_hidden_layers"]):
        p = f"model.layers.{l}."
        t += [(p + "input_layernorm.weight", gain(C)), (p + "self_attn.q_proj.weight", mat(H * hd, C)),
              (p + "self_attn.k_proj.weight", mat(K * hd, C)), (p + "self_attn.v_proj.weight", mat(K * hd, C)),
              (p + "self_attn.o_proj.weight", mat(C, H * hd)), (p + "post_attention_layernorm.weight", gain(C)),
              (p + "mlp.gate_proj.weight", mat(F, C)), (p + "mlp.up_proj.weight", mat(F, C)),
              (p + "mlp.down_proj.weight", mat(C, F))]
    t.append(("model.norm.weight", gain(C)))
    if not tied:
        t.append(("lm_head.weight", mat(V, C)))
    return t


def make_folder(name, tied, dtype, shards, seed):
    folder = os.path.join(HERE, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 24, "hidden_size": 32,
              "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
              "head_dim": 8, "max_position_embeddings": 64, "rope_theta": 10000.0, "rms_norm_eps": 1e-05,
              "hidden_act": "silu", "tie_word_embeddings": tied,
              "torch_dtype": {torch.float32: "float32", torch.bfloat16: "bfloat16"}[dtype]}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    shutil.copy("tests/fixtures/tokenizer/hand.tokenizer.json", os.path.join(folder, "tokenizer.json"))
    tensors = [(n, t.to(dtype)) for n, t in random_llama(config, tied, seed)]
    if shards == 1:
        write_safetensors(os.path.join(folder, "model.safetensors"), tensors)
    else:
        tensors.append(("model.layers.0.self_attn.rotary_emb.inv_freq",
                        (10000.0 ** (-torch.arange(0, 8, 2, dtype=torch.float64) / 8)).to(torch.float32)))
        half = len(tensors) // 2
        parts = [tensors[:half], tensors[half:]]
        weight_map = {}
        for i, part in enumerate(parts):
            file = f"model-{i + 1:05d}-of-{len(parts):05d}.safetensors"
            write_safetensors(os.path.join(folder, file), part)
            weight_map.update({n: file for n, _ in part})
        with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)
    return folder


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--edgelm", default="build/bin/edgelm")
    args = ap.parse_args()
    tokens = [1, 7, 3, 20, 11, 0, 15, 5, 17, 8, 23, 2, 13]
    write_logits(make_folder("tiny_llama", tied=False, dtype=torch.float32, shards=1, seed=21), tokens)
    write_logits(make_folder("tiny_llama_sharded", tied=True, dtype=torch.bfloat16, shards=2, seed=22), tokens)
    # The other way: edgelm's own fixtures, exported by edgelm, run here as Hugging Face would run them.
    gguf_tokens = [1, 7, 3, 29, 11, 0, 42, 5, 17, 8, 23, 2, 31, 9]
    for name in ["tiny_gqa", "tiny_window_untied_f16"]:
        folder = os.path.join(HERE, "export_" + name)
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([args.edgelm, "convert", f"tests/fixtures/model/{name}.gguf", "--out", folder], check=True)
        write_logits(folder, [t for t in gguf_tokens if t < 80])


if __name__ == "__main__":
    main()
