"""IWAVE's post-training pass against its training time, in one run (issue 14).

On simulated Big-Five GRM data (torchfit.datasets.simulate_big5) it fits the
default call with ``se="none"`` (training alone), then times, on the trained
fit, the outer-product-of-gradients scores (``se_samples`` draws per person)
in float64 (before) and in float32 (the default now), and the SE error against
draws: each SE at S draws against a 2,000-draw reference.

    .venv/bin/python bench/iwave_post.py --n 50000
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
import torchfit  # noqa: E402
from torchfit.datasets import simulate_big5  # noqa: E402
from torchfit.iwave.networks import importance  # noqa: E402


def _ses(post, samples: int, dtype, seed: int) -> np.ndarray:
    g = importance(post.structure, post.encoder, post.result.x, post.tensors,
                   n_samples=samples, gradients=True, dtype=dtype, seed=seed)["gradients"]
    return np.sqrt(np.diag(np.linalg.inv(g.T @ g)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--draws", default="20,50,100,200")
    a = ap.parse_args()
    data, _ = simulate_big5(n=a.n, seed=1)
    cols = list(data.columns)
    model = "\n".join(f"{f} =~ " + " + ".join(c for c in cols if c.startswith(f))
                      for f in ("EXT", "EST", "AGR", "CSN", "OPN"))
    print(f"n = {a.n}, load average at start {os.getloadavg()[0]:.1f}")
    t = time.perf_counter()
    fit = torchfit.cfa(model, data, ordered=cols, std_lv=True, estimator="IWAVE", seed=1,
                       se="none", quiet=True)
    train = time.perf_counter() - t
    post = fit.tests
    timing = {}
    for name, dt in (("float64 (before)", torch.float64), ("float32 (now)", torch.float32)):
        t = time.perf_counter()
        se = _ses(post, 100, dt, 2)
        timing[name] = time.perf_counter() - t
        print(f"OPG scores, 100 draws, {name}: {timing[name]:.1f} s = "
              f"{timing[name] / train:.2f} x training ({train:.1f} s)")
    ref = _ses(post, 2000, torch.float32, 7)
    print("SE vs a 2000-draw reference: draws, mean relative error, mean signed")
    for s in (int(v) for v in a.draws.split(",")):
        rel = _ses(post, s, torch.float32, 11) / ref - 1
        print(f"  {s:5d}  {np.abs(rel).mean():.4f}  {rel.mean():+.4f}")
    print(f"float32 vs float64 SE, same draws: max relative difference "
          f"{np.abs(se / _ses(post, 100, torch.float64, 2) - 1).max():.1e}")


if __name__ == "__main__":
    main()
