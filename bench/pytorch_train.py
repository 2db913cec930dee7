#!/usr/bin/python3
"""PyTorch 1.13 twin of `edgelm bench train`: the same Llama-family shape
(S1/S2/S3 of DESIGN.md: GQA, RoPE, RMSNorm, SwiGLU, tied head), forward +
backward + AdamW on random tokens, batch x seq. Prints a last-line JSON object
with the same keys (tokens_per_s, step_seconds, gflops, peak_rss_bytes).

Debian's python3-torch does its fp32 matmuls through whatever libblas.so.3 the
alternatives system points at: with only libblas3 (netlib's reference BLAS)
installed it runs some 25x slower (S1: ~55 tokens/s), which is not PyTorch's
speed. Install libopenblas0-pthread (scripts/setup --dev does), as the issue's
figures were measured with; the script names the BLAS it found. It runs with 2
threads and a passive OpenMP wait policy (set here unless the environment says
otherwise), or its OpenMP threads spin against OpenBLAS's and it runs ~1.8x slower:
  /usr/bin/python3 bench/pytorch_train.py --shape S1 --batch 8 --seq 256 [--bf16]
"""
import argparse
import json
import math
import os
import resource
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # must be set before torch loads OpenMP
import torch  # noqa: E402


def blas_library():
    """The BLAS shared object this process mapped (what torch's fp32 matmuls run on)."""
    try:
        with open("/proc/self/maps") as maps:
            names = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(os.path.realpath(n) for n in names)) or "unknown"
    except OSError:
        return "unknown"

SHAPES = {  # dim, layers, heads, kv_heads, ffn, vocab
    "tiny": (64, 2, 4, 2, 192, 512),
    "S1": (256, 8, 8, 4, 768, 8192),
    "S2": (384, 12, 6, 2, 1024, 16384),
    "S3": (576, 30, 9, 3, 1536, 49152),
}


class Block(torch.nn.Module):
    def __init__(self, C, H, Hkv, F):
        super().__init__()
        self.H, self.Hkv, self.D = H, Hkv, C // H
        self.attn_norm = torch.nn.Parameter(torch.ones(C))
        self.q = torch.nn.Linear(C, H * self.D, bias=False)
        self.k = torch.nn.Linear(C, Hkv * self.D, bias=False)
        self.v = torch.nn.Linear(C, Hkv * self.D, bias=False)
        self.o = torch.nn.Linear(H * self.D, C, bias=False)
        self.ffn_norm = torch.nn.Parameter(torch.ones(C))
        self.gate = torch.nn.Linear(C, F, bias=False)
        self.up = torch.nn.Linear(C, F, bias=False)
        self.down = torch.nn.Linear(F, C, bias=False)

    @staticmethod
    def norm(x, g):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * g

    def rope(self, x, cos, sin):  # x: (B, T, heads, D), adjacent pairs
        a, b = x[..., 0::2], x[..., 1::2]
        return torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).flatten(-2)

    def forward(self, x, cos, sin, mask):
        B, T, C = x.shape
        h = self.norm(x, self.attn_norm)
        q = self.rope(self.q(h).view(B, T, self.H, self.D), cos, sin).transpose(1, 2)
        k = self.rope(self.k(h).view(B, T, self.Hkv, self.D), cos, sin).transpose(1, 2)
        v = self.v(h).view(B, T, self.Hkv, self.D).transpose(1, 2)
        rep = self.H // self.Hkv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.D) + mask
        y = (torch.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.o(y)
        h = self.norm(x, self.ffn_norm)
        return x + self.down(torch.nn.functional.silu(self.gate(h)) * self.up(h))


class Model(torch.nn.Module):
    def __init__(self, C, L, H, Hkv, F, V, T):
        super().__init__()
        self.embd = torch.nn.Embedding(V, C)
        torch.nn.init.normal_(self.embd.weight, std=0.02)  # as edgelm's init; N(0,1) with a tied head gives huge logits
        self.blocks = torch.nn.ModuleList([Block(C, H, Hkv, F) for _ in range(L)])
        self.out_norm = torch.nn.Parameter(torch.ones(C))
        D = C // H
        ang = torch.arange(T)[:, None] * 10000.0 ** (-torch.arange(0, D, 2) / D)
        self.register_buffer("cos", torch.cos(ang)[None, :, None, :])
        self.register_buffer("sin", torch.sin(ang)[None, :, None, :])
        self.register_buffer("mask", torch.triu(torch.full((T, T), float("-inf")), diagonal=1))

    def forward(self, tokens):
        x = self.embd(tokens)
        for blk in self.blocks:
            x = blk(x, self.cos, self.sin, self.mask)
        return Block.norm(x, self.out_norm) @ self.embd.weight.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="S1", choices=SHAPES)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action="store_true", help="CPU autocast to bfloat16 (oneDNN)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    C, L, H, Hkv, F, V = SHAPES[args.shape]
    model = Model(C, L, H, Hkv, F, V, args.seq)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    tokens = torch.randint(0, V, (args.batch, args.seq))
    targets = torch.randint(0, V, (args.batch, args.seq))
    times = []
    for step in range(args.steps + 1):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            logits = model(tokens)
            loss = torch.nn.functional.cross_entropy(logits.float().view(-1, V), targets.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step > 0:
            times.append(time.perf_counter() - t0)
    times.sort()
    blas = blas_library()
    if "openblas" not in blas and not args.bf16:
        print(f"warning: fp32 matmuls run on {blas}, not OpenBLAS: install libopenblas0-pthread", file=sys.stderr)
    median = times[len(times) // 2]
    N, T, D = args.batch * args.seq, args.seq, C // H
    matmul = N * (C * C + 2 * C * Hkv * D + C * C + 3 * C * F) * L + N * C * V
    attention = args.batch * (T * (T + 1) / 2) * H * D * 2 * L
    flops = 6.0 * (matmul + attention)
    print(f"pytorch {torch.__version__} train {args.shape}, batch {args.batch} x {args.seq}, {args.threads} threads"
          f"{' bf16' if args.bf16 else ''}: {median:.3f} s/step, {N / median:.0f} tokens/s"
          f" (OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')})")
    print(json.dumps(dict(bench="pytorch_train", shape=args.shape, batch=args.batch, seq=args.seq, threads=args.threads,
                          bf16=args.bf16, blas=blas, step_seconds=median, tokens_per_s=N / median, gflops=flops / median / 1e9,
                          peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, loss=loss.item())))


if __name__ == "__main__":
    main()
