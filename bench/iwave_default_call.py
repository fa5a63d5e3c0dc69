"""The default IWAVE call on Big-Five-shaped data (issue 14's goal: the whole call, SEs
included, within 2x its training time): wall time, training time (``info["seconds"]``),
their ratio and the loading RMSE against the simulation truth, in one run.

    OMP_NUM_THREADS=2 .venv/bin/python bench/iwave_default_call.py --n 621307

Writes bench/results/iwave_default_call.md.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

import torchfit
from torchfit.datasets.simulate import simulate_big5

OUT = Path(__file__).resolve().parents[1] / "bench" / "results"


def default_call(n: int):
    """The default IWAVE call on n simulated Big-Five rows: (fit, seconds, truth)."""
    data, truth = simulate_big5(n, seed=1)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = torchfit.cfa(truth["syntax"], data, std_lv=True, estimator="IWAVE",
                           ordered=True, seed=1, quiet=True)
    return fit, time.perf_counter() - start, truth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=621_307)
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    fit, wall, truth = default_call(args.n)
    train = fit.info["seconds"]
    pe = fit.parameter_estimates()
    lam = pe[pe["op"] == "=~"]
    true = truth["loadings"][[truth["items"].index(v) for v in lam["rhs"]],
                             [truth["factors"].index(f) for f in lam["lhs"]]]
    rmse = float(np.sqrt(np.mean((lam["est"].to_numpy() - true) ** 2)))
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    text = (f"# IWAVE default call ({stamp}, {platform.machine()}, {os.cpu_count()} cores, "
            f"load average {load0:.1f} before / {os.getloadavg()[0]:.1f} after, "
            f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})\n\n"
            f"`python bench/iwave_default_call.py --n {args.n}`\n\n"
            "| rows | call (s) | training (s) | call / training | iterations | epochs "
            "| loading RMSE vs truth |\n|---|---|---|---|---|---|---|\n"
            f"| {args.n:,} | {wall:.1f} | {train:.1f} | {wall / train:.2f} | "
            f"{fit.info['iterations']} | {fit.info['epochs']} | {rmse:.4f} |\n")
    OUT.mkdir(exist_ok=True)
    (OUT / "iwave_default_call.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
