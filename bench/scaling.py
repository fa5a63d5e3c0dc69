"""When does data-parallel IWAVE pay?  A small simulation of the time to
converge on W ranks (issue 15, "scaling analysis").

Per step every rank computes the IW-ELBO gradient of its own batch of b rows
(t_c = step overhead + b x cost per row) and then all-reduces the gradients of
all P parameters (float32; the model's and the encoder's) with a ring
all-reduce:

    t_ar(W) = 2 (W - 1) alpha + 2 (W - 1) / W * 4 P / beta

(alpha: per-message latency, beta: bandwidth).  The global batch is W b rows,
and larger batches need fewer steps, down to the floor of the convergence
rule; we use the empirical model of large-batch training (McCandlish et al.
2018, "An empirical model of large-batch training"):

    S(B) = S_min (1 + B_noise / B)

with S_min = 1000 iterations (the rule needs about ten 100-iteration windows
after the loss settles) and B_noise chosen so that S(256) is the step count
measured on 100K Big-Five rows at batches of 256 (--steps-at-256: 1600 there;
1800 at 2 x 256 rows, so S_min is if anything higher).  The network and
per-row figures are assumptions (typical published latencies and bandwidths),
the CPU step time can be the measured one (--cpu-ms-per-step).  Time to
converge: T(W) = S(W b) (t_c + t_ar(W)); speed-up T(1) / T(W).

    .venv/bin/python bench/scaling.py                  # the table (markdown)
    .venv/bin/python bench/scaling.py --measure-gloo   # also time gloo here

P is counted from the Big-Five IWAVE model (5 factors, 50 five-category items,
the default encoder of one hidden layer of 100, full covariance).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

#: (name, alpha seconds, beta bytes/s, compute per row s, step overhead s)
NETWORKS = [
    ("CPU nodes, 10 GbE (gloo/TCP)", 50e-6, 1.25e9, 20e-6, 1e-3),
    ("CPU nodes, 100 Gb InfiniBand", 5e-6, 12e9, 20e-6, 1e-3),
    ("GPUs, NVLink (NCCL)", 10e-6, 150e9, 0.02e-6, 2e-3),
    ("GPUs, across nodes, 100 GbE (NCCL)", 30e-6, 12e9, 0.02e-6, 2e-3),
]


def big5_parameters() -> int:
    """P of the Big-Five IWAVE fit: the encoder's weights and the free parameters."""
    from torchfit.iwave.networks import Encoder
    enc = Encoder(50, 5, (100,), "full")
    encoder = sum(p.numel() for p in enc.parameters())
    model = 50 + 50 * 4 + 10  # loadings, thresholds, factor correlations
    return encoder + model


def allreduce_seconds(w: int, p: int, alpha: float, beta: float) -> float:
    if w == 1:
        return 0.0
    return 2 * (w - 1) * alpha + 2 * (w - 1) / w * 4 * p / beta


def steps(batch: int, s_min: float, b_noise: float) -> float:
    return s_min * (1 + b_noise / batch)


def table(p: int, b: int, s256: float, s_min: float, ranks, cpu_step=None) -> str:
    b_noise = (s256 / s_min - 1) * 256
    lines = [f"P = {p:,} parameters ({4 * p / 1e3:.1f} KB all-reduced per step), b = {b} rows "
             f"per rank per step, S(B) = {s_min:.0f} (1 + {b_noise:.0f} / B) steps", "",
             "| network | W | t_c ms | t_ar ms | comm share | steps | time s | speed-up |",
             "|---|---|---|---|---|---|---|---|"]
    for name, alpha, beta, per_row, overhead in NETWORKS:
        t_c = overhead + b * per_row
        if cpu_step is not None and name.startswith("CPU"):
            t_c = cpu_step  # measured (bench/distributed.py: ms / iteration)
        base = steps(b, s_min, b_noise) * t_c
        for w in ranks:
            t_ar = allreduce_seconds(w, p, alpha, beta)
            s = steps(w * b, s_min, b_noise)
            t = s * (t_c + t_ar)
            lines.append(f"| {name} | {w} | {1e3 * t_c:.2f} | {1e3 * t_ar:.3f} | "
                         f"{t_ar / (t_c + t_ar):.0%} | {s:.0f} | {t:.1f} | {base / t:.2f} |")
        # where communication starts to dominate: t_ar(W) = t_c
        w_star = next((w for w in range(2, 4097) if allreduce_seconds(w, p, alpha, beta) > t_c),
                      None)
        lines.append(f"| {name}: all-reduce > compute from W = {w_star or '> 4096'} | | | | | "
                     "| | |")
    return "\n".join(lines)


def gloo_rank(p: int, reps: int):
    import torch
    import torch.distributed as dist
    buf = torch.zeros(p)
    for _ in range(10):
        dist.all_reduce(buf)
    t = time.perf_counter()
    for _ in range(reps):
        dist.all_reduce(buf)
    return (time.perf_counter() - t) / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps-at-256", type=float, default=1600.0,
                    help="measured: 1600 on 100K Big-Five rows (bench/distributed.py)")
    ap.add_argument("--s-min", type=float, default=1000.0)
    ap.add_argument("--ranks", default="1,2,4,8,16,64")
    ap.add_argument("--cpu-ms-per-step", type=float, default=None,
                    help="a measured CPU step time (default: 1 ms + 20 us per row)")
    ap.add_argument("--measure-gloo", action="store_true",
                    help="time an all-reduce of P floats on 2 gloo ranks on this machine")
    args = ap.parse_args()
    p = big5_parameters()
    print(table(p, args.batch, args.steps_at_256, args.s_min,
                [int(w) for w in args.ranks.split(",")],
                None if args.cpu_ms_per_step is None else args.cpu_ms_per_step / 1e3))
    if args.measure_gloo:
        from torchfit.distributed.local import run_local
        sec = run_local(gloo_rank, 2, p, 500, timeout_s=300)
        print(f"\nmeasured here: all-reduce of {p:,} float32 on 2 gloo ranks (127.0.0.1): "
              f"{1e3 * sec:.3f} ms")


if __name__ == "__main__":
    main()
