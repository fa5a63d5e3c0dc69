"""Coverage of IWAVE's 95% confidence intervals (outer-product-of-gradients
standard errors) by simulation from a known truth.

The test runs a modest number of replications; run this file as a script
for more (``python tests/python/test_iwave_coverage.py --reps 200``).
"""
import argparse
import time

import numpy as np

import torchfit
from torchfit.datasets import simulate


def coverage(reps: int, kind: str = "normal", n: int = 500, seed: int = 100) -> dict:
    """Share of 95% intervals (loadings and intercepts) that hold the truth."""
    hits, widths = [], []
    for r in range(reps):
        data, truth = simulate(n, kind, n_factors=1, items_per_factor=4, seed=seed + r)
        options = {} if kind == "normal" else {"item_types": {c: kind for c in data.columns}}
        fit = torchfit.cfa(truth["syntax"], data, std_lv=True, estimator="IWAVE", seed=r,
                           batch_size=n, n_intervals=5, refine=False, **options)
        pe = fit.parameter_estimates()
        for j in range(4):
            rows = [(pe[(pe["op"] == "=~") & (pe["rhs"] == f"y{j + 1}")], truth["loadings"][j, 0])]
            if "intercepts" in truth:
                rows.append((pe[(pe["op"] == "~1") & (pe["lhs"] == f"y{j + 1}")],
                             truth["intercepts"][j]))
            for row, want in rows:
                row = row.iloc[0]
                hits.append(row["ci.lower"] <= want <= row["ci.upper"])
                widths.append(row["ci.upper"] - row["ci.lower"])
    return {"coverage": float(np.mean(hits)), "intervals": len(hits),
            "mean_width": float(np.mean(widths))}


def test_confidence_intervals_cover_the_truth():
    out = coverage(10)
    # 80 intervals: the binomial sd of the share at 0.95 is 0.024
    assert 0.87 <= out["coverage"] <= 1.0, out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--kind", default="normal")
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    start = time.perf_counter()
    result = coverage(args.reps, args.kind, args.n)
    print(f"{args.kind}: coverage {result['coverage']:.3f} of {result['intervals']} intervals, "
          f"mean width {result['mean_width']:.3f}, {time.perf_counter() - start:.0f} s")
