#!/usr/bin/python3
"""PyTorch twin of edgelm's DPO objective (src/training/dpo.h), for the golden test.

Builds the tiny Llama-family model of tools/ref_train.py twice: the policy and a
frozen reference (the policy's weights slightly moved, so that the two differ).
Runs one batch of two preference pairs packed as the Pairs loader packs them
(each side whole in a row, the rejected after the chosen, padding after), with
the prompts untrained (weight 0), and computes

  loss = mean over pairs of -log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r)))

where pi and ref are the summed log-probabilities of a side's trained targets.
Dumps into a JSON fixture: config, batch (with pair_slot), beta, both models'
weights, each side's log-probabilities, the loss, every policy gradient and the
losses of 5 AdamW steps (constant lr, global-norm clipping; the reference stays).
tests/training/test_dpo.cpp loads it and checks the C++ trainer's DPO step.

Usage: /usr/bin/python3 tools/ref_dpo.py [--out tests/fixtures/training/golden_dpo.json]
"""
import argparse
import json

import torch

from ref_train import forward, shape, tensor_names

torch.set_default_dtype(torch.float64)  # the reference is computed in double; the C++ side runs in float


def side_logprobs(cfg, W, batch, n_pairs):
    logits = forward(cfg, W, batch)
    targets = torch.tensor(batch["targets"])
    w = torch.tensor(batch["weights"], dtype=torch.float64)
    logp = torch.log_softmax(logits, dim=-1).gather(1, targets[:, None])[:, 0] * w
    slot = torch.tensor(batch["pair_slot"])
    sums = torch.zeros(2 * n_pairs, dtype=torch.float64)
    keep = slot >= 0
    return sums.index_add(0, slot[keep], logp[keep])


def dpo_loss(pi, ref, beta):
    margin = beta * ((pi[0::2] - ref[0::2]) - (pi[1::2] - ref[1::2]))
    return -torch.nn.functional.logsigmoid(margin).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/training/golden_dpo.json")
    args = ap.parse_args()
    torch.manual_seed(4321)
    cfg = dict(n_vocab=29, dim=16, n_layers=2, n_heads=4, n_kv_heads=2, head_dim=4, ffn_dim=24, context_length=16,
               rope_theta=10000.0, norm_eps=1e-5, tied=True, sliding_window=0)
    B, T, beta = 2, 10, 0.5
    gen = torch.Generator().manual_seed(7)
    # Pair 0: chosen at row 0 positions 0-4, rejected at 5-9 (prompts: 2 positions each).
    # Pair 1: chosen at row 1 positions 0-3, rejected at 4-8 (prompts: 1 position each), padding at 9.
    # A side's first tokens are its prompt, the same on both sides of a pair.
    layout = [(0, 0, 5, 2, 0), (0, 5, 5, 2, 1), (1, 0, 4, 1, 2), (1, 4, 5, 1, 3)]  # row, start, length, prompt, slot
    tokens = [0] * (B * T)
    targets = [0] * (B * T)
    weights = [0.0] * (B * T)
    first = [t for _ in range(B) for t in range(T)]
    pair_slot = [-1] * (B * T)
    prompts = [torch.randint(0, cfg["n_vocab"], (3,), generator=gen).tolist() for _ in range(2)]
    for row, start, length, prompt, slot in layout:
        seq = prompts[slot // 2][:prompt] + torch.randint(0, cfg["n_vocab"], (length + 1 - prompt,), generator=gen).tolist()
        for j in range(length):
            i = row * T + start + j
            tokens[i], targets[i], first[i], pair_slot[i] = seq[j], seq[j + 1], start, slot
            weights[i] = 1.0 if j + 1 >= prompt else 0.0  # targets from the first answer token on
    batch = dict(B=B, T=T, tokens=tokens, targets=targets, first=first, weights=weights, pair_slot=pair_slot, n_pairs=2)

    W, R = {}, {}
    for name in tensor_names(cfg):
        shp = shape(cfg, name)
        base = 1.0 + 0.1 * torch.randn(shp) if len(shp) == 1 else 0.3 * torch.randn(shp)
        W[name] = base.clone().requires_grad_()
        R[name] = base + 0.05 * torch.randn(shp)
    init = {n: w.detach().reshape(-1).tolist() for n, w in W.items()}
    ref_weights = {n: r.reshape(-1).tolist() for n, r in R.items()}

    with torch.no_grad():
        ref = side_logprobs(cfg, R, batch, 2)
    pi = side_logprobs(cfg, W, batch, 2)
    loss = dpo_loss(pi, ref, beta)
    loss.backward()
    grads = {n: w.grad.reshape(-1).tolist() for n, w in W.items()}

    optim = dict(lr=2e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, grad_clip=1.0)
    decay = [w for n, w in W.items() if len(shape(cfg, n)) == 2 and "token_embd" not in n and n != "output.weight"]
    no_decay = [w for n, w in W.items() if not any(w is d for d in decay)]
    opt = torch.optim.AdamW([dict(params=decay, weight_decay=optim["weight_decay"]), dict(params=no_decay, weight_decay=0.0)],
                            lr=optim["lr"], betas=(optim["beta1"], optim["beta2"]), eps=optim["eps"])
    losses = []
    for _ in range(5):
        opt.zero_grad()
        step_loss = dpo_loss(side_logprobs(cfg, W, batch, 2), ref, beta)
        step_loss.backward()
        torch.nn.utils.clip_grad_norm_(list(W.values()), optim["grad_clip"])
        opt.step()
        losses.append(step_loss.item())

    out = dict(config=cfg, batch=batch, beta=beta, weights=init, reference_weights=ref_weights,
               policy_logprobs=pi.detach().tolist(), reference_logprobs=ref.tolist(), loss=loss.item(), grads=grads,
               optim=optim, losses=losses)
    with open(args.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {args.out}: loss {loss.item():.6f}, 5-step losses {losses[0]:.4f} -> {losses[-1]:.4f}")


if __name__ == "__main__":
    main()
