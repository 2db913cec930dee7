#!/usr/bin/python3
"""PyTorch twin of edgelm's LoRA training, for the adapter-gradient golden test.

The frozen base and the batch are built as tools/ref_train.py builds them (same
forward pass, imported from it); every block's seven projections get a LoRA
term of rank 2, alpha 6 (s = alpha / r = 3), without dropout, so the adapted
weight is W + s B A exactly as PEFT computes x W^T + s (x A^T) B^T. A and B are
random and non-zero (B zero, as at initialisation, would leave dA zero and test
nothing). The JSON fixture holds the config, batch, base weights, the adapter,
the loss and the gradients of every A and B; tests/training/test_lora_train.cpp
checks edgelm's (max abs error <= 1e-4) and also checks them by finite differences.

Usage: /usr/bin/python3 tools/ref_lora.py [--out tests/fixtures/training/golden_lora.json]
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_train  # noqa: E402  (the base model's forward pass and loss)

torch.set_default_dtype(torch.float64)
TARGETS = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/training/golden_lora.json")
    args = ap.parse_args()
    torch.manual_seed(4321)
    cfg = dict(n_vocab=29, dim=16, n_layers=2, n_heads=4, n_kv_heads=2, head_dim=4, ffn_dim=24, context_length=16,
               rope_theta=10000.0, norm_eps=1e-5, tied=True, sliding_window=0)
    rank, alpha = 2, 6.0
    scale = alpha / rank
    B, T = 2, 8
    gen = torch.Generator().manual_seed(77)
    tokens = torch.randint(0, cfg["n_vocab"], (B * T,), generator=gen)
    targets = torch.randint(0, cfg["n_vocab"], (B * T,), generator=gen)
    first = [0] * 5 + [5] * 3 + [0] * 8
    weights = [1.0] * (B * T)
    for i in (4, 7, 9, 10):
        weights[i] = 0.0
    batch = dict(B=B, T=T, tokens=tokens.tolist(), targets=targets.tolist(), first=first, weights=weights)

    base = {}
    for name in ref_train.tensor_names(cfg):
        shp = ref_train.shape(cfg, name)
        base[name] = (1.0 + 0.1 * torch.randn(shp)) if len(shp) == 1 else 0.3 * torch.randn(shp)
    lora = {}
    for l in range(cfg["n_layers"]):
        for t in TARGETS:
            name = f"blk.{l}.{t}.weight"
            out, inp = base[name].shape
            lora[name + ".lora_a"] = (0.3 * torch.randn(rank, inp)).requires_grad_()
            lora[name + ".lora_b"] = (0.3 * torch.randn(out, rank)).requires_grad_()

    W = dict(base)
    for l in range(cfg["n_layers"]):
        for t in TARGETS:
            name = f"blk.{l}.{t}.weight"
            W[name] = base[name] + scale * lora[name + ".lora_b"] @ lora[name + ".lora_a"]
    logits = ref_train.forward(cfg, W, batch)
    loss = ref_train.loss_fn(logits, batch)
    loss.backward()

    out = dict(config=cfg, rank=rank, alpha=alpha, batch=batch,
               weights={n: w.reshape(-1).tolist() for n, w in base.items()},
               lora={n: w.detach().reshape(-1).tolist() for n, w in lora.items()},
               loss=loss.item(), grads={n: w.grad.reshape(-1).tolist() for n, w in lora.items()})
    with open(args.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {args.out}: loss {loss.item():.6f}, {len(lora)} adapter tensors")


if __name__ == "__main__":
    main()
