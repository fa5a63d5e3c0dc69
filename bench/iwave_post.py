"""IWAVE's post-training passes against its training time, in one run (issue 14).

On simulated Big-Five GRM data (torchfit.datasets.simulate_big5) it fits the
default call with ``se="none"`` (training alone), then times, on the trained
fit, the default standard-error pass (``torchfit.iwave.opg.information``:
``se_samples`` draws split in two halves, at most ``se_rows`` rows) and the
log-likelihood pass of ``fit_measures()`` (``logl_samples`` draws) with the total
log-likelihood against the draws, and measures
the SE error against a reference (every row, ``--ref-draws`` draws): for the
plain outer product of the pooled draws' scores and for the two halves' cross
product, at several numbers of draws, and for the row subset.

    .venv/bin/python bench/iwave_post.py --n 20000
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
from torchfit.iwave.opg import half_scores, information  # noqa: E402


def _se(J: np.ndarray) -> np.ndarray:
    return np.sqrt(np.diag(np.linalg.inv(J)))


def _both(post, samples: int, seed: int):
    """SEs from the plain product and from the halves' cross product, same draws."""
    gen = torch.Generator().manual_seed(seed)
    ga, gb = half_scores(post.structure, post.encoder, post.result.x, post.tensors,
                         torch.arange(post.tensors.n), samples, gen)
    pooled = 0.5 * (ga + gb)
    return _se(pooled.T @ pooled), _se(0.5 * (ga.T @ gb + gb.T @ ga))


def _timed(f):
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--draws", default="20,50,100,200")
    ap.add_argument("--ref-draws", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=5_000, help="a row subset to measure")
    ap.add_argument("--logl-draws", default="100,300,1000,3000")
    a = ap.parse_args()
    data, _ = simulate_big5(n=a.n, seed=1)
    cols = list(data.columns)
    model = "\n".join(f"{f} =~ " + " + ".join(c for c in cols if c.startswith(f))
                      for f in ("EXT", "EST", "AGR", "CSN", "OPN"))
    print(f"n = {a.n}, load average at start {os.getloadavg()[0]:.1f}, "
          f"torch threads {torch.get_num_threads()}")
    fit, train = _timed(lambda: torchfit.cfa(model, data, ordered=cols, std_lv=True,
                                             estimator="IWAVE", seed=1, se="none", quiet=True))
    post = fit.tests
    args = (post.structure, post.encoder, post.result.x, post.tensors)
    _, t_se = _timed(lambda: information(*args, n_samples=40, seed=2))
    _, t_ll = _timed(lambda: importance(*args, n_samples=1000, seed=3))
    print(f"training (se='none', final pass included): {train:.1f} s")
    print(f"SE pass, defaults (40 draws, <= 50,000 rows): {t_se:.1f} s = {t_se / train:.2f} x")
    print(f"log-likelihood pass (1000 draws, first fit_measures()): {t_ll:.1f} s = "
          f"{t_ll / train:.2f} x")
    print("total log-likelihood against draws (two seeds each):")
    for s in (int(v) for v in a.logl_draws.split(",")):
        totals = [importance(*args, n_samples=s, seed=seed)["logl"].sum() for seed in (3, 4)]
        print(f"  {s:5d}  " + "  ".join(f"{v:.2f}" for v in totals))
    _, ref = _both(post, a.ref_draws, 7)
    print(f"SE error against every row at {a.ref_draws} draws (cross product): "
          "draws, plain |mean| / mean signed, cross |mean| / mean signed")
    for s in (int(v) for v in a.draws.split(",")):
        plain, cross = (v / ref - 1 for v in _both(post, s, 11))
        print(f"  {s:5d}   {np.abs(plain).mean():.4f} {plain.mean():+.4f}   "
              f"{np.abs(cross).mean():.4f} {cross.mean():+.4f}")
    sub = _se(information(*args, n_samples=40, seed=5, max_rows=a.rows)) / ref - 1
    print(f"  40 draws on {a.rows} of the rows, scaled: {np.abs(sub).mean():.4f} "
          f"{sub.mean():+.4f} (the inverse of a sum of n outer products in q "
          "parameters runs ~n/(n-q-1) large)")


if __name__ == "__main__":
    main()
