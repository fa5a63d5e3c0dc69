"""IWAVE's stopping rule over fit seeds and item types: iterations, seconds and
loading RMSE against the simulation's truth, for graded, gpcm, binary and
normal items (2 correlated factors x 5 items, N = 5,000, one data set per type,
fit seeds 1-5, se = "none").  The rule's noise shows as the spread of the
iterations over the seeds; its accuracy as the RMSE.

To compare two rules, run the script on each tree (PYTHONPATH picks the tree)
and hand the first run's JSON to the second:

    PYTHONPATH=/path/to/old/python python bench/iwave_stopping.py --out /tmp/old.json
    PYTHONPATH=python python bench/iwave_stopping.py --compare /tmp/old.json

One thread (OMP_NUM_THREADS=1); a few minutes per run on a loaded 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

N, FACTORS, PER, CATEGORIES, DATA_SEED = 5_000, 2, 5, 5, 17
KINDS = ("graded", "gpcm", "binary", "normal")


def loadings(fit, columns, shape) -> np.ndarray:
    pe = fit.parameter_estimates()
    out = np.zeros(shape)
    for lhs, rhs, est in pe.loc[pe["op"] == "=~", ["lhs", "rhs", "est"]].itertuples(index=False):
        out[list(columns).index(rhs), int(lhs[1:]) - 1] = est
    return out


def run(kinds, seeds):
    import torchfit
    rows = []
    for kind in kinds:
        data, truth = torchfit.datasets.simulate(N, kind, n_factors=FACTORS, items_per_factor=PER,
                                                 n_categories=CATEGORIES, seed=DATA_SEED)
        on = truth["loadings"] != 0
        for seed in seeds:
            t = time.perf_counter()
            fit = torchfit.fit(truth["syntax"], data, estimator="IWAVE", std_lv=True,
                               item_types={v: kind for v in data.columns}, seed=seed,
                               se="none", quiet=True)
            seconds = time.perf_counter() - t
            est = loadings(fit, data.columns, truth["loadings"].shape)
            rmse = float(np.sqrt(np.mean((est[on] - truth["loadings"][on]) ** 2)))
            rows.append({"kind": kind, "seed": seed, "iterations": fit.info["iterations"],
                         "seconds": seconds, "rmse": rmse})
            print(f"{kind:7s} seed {seed}: {rows[-1]['iterations']:5d} iterations "
                  f"{seconds:6.1f} s  RMSE {rmse:.4f}", flush=True)
    return rows


def summary(rows, other=None) -> None:
    """Per item type: mean (min-max) iterations, mean seconds, mean RMSE; with
    ``other``, the same for it beside."""
    def stats(rs, kind):
        r = [x for x in rs if x["kind"] == kind]
        it = [x["iterations"] for x in r]
        return (f"{np.mean(it):6.0f} ({min(it)}-{max(it)}) | "
                f"{np.mean([x['seconds'] for x in r]):5.1f} | "
                f"{np.mean([x['rmse'] for x in r]):.4f}")
    head = "| items | iterations (range) | s | RMSE |"
    if other is not None:
        head += " old iterations (range) | old s | old RMSE |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for kind in dict.fromkeys(x["kind"] for x in rows):
        line = f"| {kind} | {stats(rows, kind)} |"
        if other is not None:
            line += f" {stats(other, kind)} |"
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kinds", nargs="+", default=list(KINDS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    ap.add_argument("--out", help="write the rows as JSON here")
    ap.add_argument("--compare", help="a JSON of an earlier run (the old rule) to show beside")
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch
    torch.set_num_threads(1)
    rows = run(args.kinds, args.seeds)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"load_average": os.getloadavg(), "rows": rows}, f, indent=1)
    other = None
    if args.compare:
        with open(args.compare) as f:
            other = json.load(f)["rows"]
    print(f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1 / 5 / 15 min)")
    summary(rows, other)


if __name__ == "__main__":
    main()
