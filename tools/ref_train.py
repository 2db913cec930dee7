#!/usr/bin/python3
"""PyTorch twin of edgelm's training forward/backward, for the golden test.

Builds a tiny Llama-family model (GQA, sliding window, RoPE on adjacent pairs,
RMSNorm, SwiGLU, tied or untied head) from random initial weights, runs one
packed batch (two examples share a row and must not see each other; some
targets carry loss weight 0), and dumps into a JSON fixture:
  config, batch, initial weights, logits, loss, every parameter gradient,
  and the losses of 10 AdamW steps (constant lr, global-norm clipping).
tests/training/test_golden.cpp loads it and checks the C++ trainer.

Usage: /usr/bin/python3 tools/ref_train.py [--out tests/fixtures/training/golden_tied.json] [--untied]
"""
import argparse
import json
import math

import torch

torch.set_default_dtype(torch.float64)  # the reference is computed in double; the C++ side runs in float


def rmsnorm(x, g, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g


def rope(x, pos, theta):
    # x: (N, heads, D); rotate adjacent pairs (x[2i], x[2i+1]) by pos * theta^(-2i/D).
    D = x.shape[-1]
    i = torch.arange(D // 2, dtype=torch.float64)
    angle = pos[:, None].double() * theta ** (-2.0 * i / D)  # (N, D/2)
    c, s = torch.cos(angle)[:, None, :], torch.sin(angle)[:, None, :]
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.stack([a * c - b * s, a * s + b * c], dim=-1)
    return out.reshape(x.shape)


def forward(cfg, W, batch):
    B, T = batch["B"], batch["T"]
    C, H, Hkv, D = cfg["dim"], cfg["n_heads"], cfg["n_kv_heads"], cfg["head_dim"]
    tokens = torch.tensor(batch["tokens"]).view(B, T)
    first = torch.tensor(batch["first"]).view(B, T)
    t_idx = torch.arange(T)
    pos = (t_idx[None, :] - first).reshape(-1)
    # allowed[b, t, s]: same example, causal, within the window.
    s_idx = torch.arange(T)
    allowed = (s_idx[None, None, :] <= t_idx[None, :, None]) & (s_idx[None, None, :] >= first[:, :, None])
    if cfg["sliding_window"] > 0:
        allowed = allowed & (t_idx[None, :, None] - s_idx[None, None, :] < cfg["sliding_window"])
    x = W["token_embd.weight"][tokens.view(-1)]  # (N, C)
    for l in range(cfg["n_layers"]):
        p = lambda s: W[f"blk.{l}.{s}.weight"]
        xn = rmsnorm(x, p("attn_norm"), cfg["norm_eps"])
        q = rope((xn @ p("attn_q").T).view(-1, H, D), pos, cfg["rope_theta"])
        k = rope((xn @ p("attn_k").T).view(-1, Hkv, D), pos, cfg["rope_theta"])
        v = (xn @ p("attn_v").T).view(-1, Hkv, D)
        group = H // Hkv
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        q = q.view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, H, D).transpose(1, 2)
        v = v.view(B, T, H, D).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(D)
        scores = scores.masked_fill(~allowed[:, None, :, :], float("-inf"))
        att = torch.softmax(scores, dim=-1) @ v  # (B, H, T, D)
        att = att.transpose(1, 2).reshape(B * T, H * D)
        x = x + att @ p("attn_output").T
        xn = rmsnorm(x, p("ffn_norm"), cfg["norm_eps"])
        h = torch.nn.functional.silu(xn @ p("ffn_gate").T) * (xn @ p("ffn_up").T)
        x = x + h @ p("ffn_down").T
    xn = rmsnorm(x, W["output_norm.weight"], cfg["norm_eps"])
    head = W["token_embd.weight"] if cfg["tied"] else W["output.weight"]
    return xn @ head.T  # (N, V)


def loss_fn(logits, batch):
    targets = torch.tensor(batch["targets"])
    w = torch.tensor(batch["weights"], dtype=torch.float64)
    nll = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    return (nll * w).sum() / w.sum()


def tensor_names(cfg):
    names = ["token_embd.weight"]
    for l in range(cfg["n_layers"]):
        names += [f"blk.{l}.{s}.weight" for s in
                  ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"]]
    names.append("output_norm.weight")
    if not cfg["tied"]:
        names.append("output.weight")
    return names


def shape(cfg, name):
    C, Q, K, F, V = cfg["dim"], cfg["n_heads"] * cfg["head_dim"], cfg["n_kv_heads"] * cfg["head_dim"], cfg["ffn_dim"], cfg["n_vocab"]
    table = {"token_embd": (V, C), "output": (V, C), "attn_norm": (C,), "ffn_norm": (C,), "output_norm": (C,),
             "attn_q": (Q, C), "attn_k": (K, C), "attn_v": (K, C), "attn_output": (C, Q),
             "ffn_gate": (F, C), "ffn_up": (F, C), "ffn_down": (C, F)}
    return table[name.split(".")[-2]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/training/golden_tied.json")
    ap.add_argument("--untied", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(1234)
    cfg = dict(n_vocab=29, dim=16, n_layers=2, n_heads=4, n_kv_heads=2, head_dim=4, ffn_dim=24, context_length=16,
               rope_theta=10000.0, norm_eps=1e-5, tied=not args.untied, sliding_window=0 if args.untied else 5)
    B, T = 2, 8
    gen = torch.Generator().manual_seed(99)
    tokens = torch.randint(0, cfg["n_vocab"], (B * T,), generator=gen)
    targets = torch.randint(0, cfg["n_vocab"], (B * T,), generator=gen)
    # Row 0 packs two examples (positions 0-4, 5-7); row 1 holds one. Some targets are not trained.
    first = [0] * 5 + [5] * 3 + [0] * 8
    weights = [1.0] * (B * T)
    for i in (4, 7, 9, 10):
        weights[i] = 0.0
    batch = dict(B=B, T=T, tokens=tokens.tolist(), targets=targets.tolist(), first=first, weights=weights)

    W = {}
    for name in tensor_names(cfg):
        shp = shape(cfg, name)
        if len(shp) == 1:
            W[name] = (1.0 + 0.1 * torch.randn(shp)).requires_grad_()
        else:
            W[name] = (0.3 * torch.randn(shp)).requires_grad_()
    init = {n: w.detach().reshape(-1).tolist() for n, w in W.items()}

    logits = forward(cfg, W, batch)
    loss = loss_fn(logits, batch)
    loss.backward()
    grads = {n: w.grad.reshape(-1).tolist() for n, w in W.items()}

    optim = dict(lr=1e-2, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, grad_clip=1.0)
    decay = [w for n, w in W.items() if len(shape(cfg, n)) == 2 and "token_embd" not in n and n != "output.weight"]
    no_decay = [w for n, w in W.items() if not any(w is d for d in decay)]
    opt = torch.optim.AdamW([dict(params=decay, weight_decay=optim["weight_decay"]), dict(params=no_decay, weight_decay=0.0)],
                            lr=optim["lr"], betas=(optim["beta1"], optim["beta2"]), eps=optim["eps"])
    losses = []
    for _ in range(10):
        opt.zero_grad()
        step_loss = loss_fn(forward(cfg, W, batch), batch)
        step_loss.backward()
        torch.nn.utils.clip_grad_norm_(list(W.values()), optim["grad_clip"])
        opt.step()
        losses.append(step_loss.item())

    out = dict(config=cfg, batch=batch, weights=init, logits=logits.detach().reshape(-1).tolist(), loss=loss.item(),
               grads=grads, optim=optim, losses=losses)
    with open(args.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {args.out}: loss {loss.item():.6f}, 10-step losses {losses[0]:.4f} -> {losses[-1]:.4f}")


if __name__ == "__main__":
    main()
