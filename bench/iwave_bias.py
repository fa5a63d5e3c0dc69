"""IWAVE's bias against exact marginal ML, and its time, in one run: the old
default (ordinary reparameterized gradient, no final pass), DReG alone, and the
default (DReG + the final pass at 50 antithetic draws), with MML for reference,
on 1 factor x 10 five-category graded items, N = 5000
(tests/reference/irt/graded_1f_n5000.csv; exact ML by tests/reference/exact_irt.py).

    PYTHONPATH=python python bench/iwave_bias.py

One thread (OMP_NUM_THREADS=1).  Writes bench/results/iwave_bias.json.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "tests" / "reference" / "irt" / "graded_1f_n5000"
RUNS = {
    "IWAVE before issue 17 (dreg=False, final_samples=0)":
        dict(estimator="IWAVE", dreg=False, final_samples=0),
    "IWAVE, DReG only (final_samples=0)": dict(estimator="IWAVE", final_samples=0),
    "IWAVE default (DReG + final pass at 50)": dict(estimator="IWAVE"),
    "MML": dict(estimator="MML"),
}


def main() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch  # lazy: after the thread setting

    import torchfit
    torch.set_num_threads(1)
    data = pd.read_csv(f"{CASE}.csv")
    ref = pd.read_csv(f"{CASE}_exact.csv")
    syntax = "f1 =~ " + " + ".join(data.columns)
    out = {}
    print(f"{'fit':<54}{'seconds':>8}{'iter':>6}{'slope bias %':>13}{'RMSE a':>8}"
          f"{'RMSE tau':>9}")
    for name, options in RUNS.items():
        extra = {} if options["estimator"] == "MML" else dict(quiet=True, se="none", seed=0)
        t = time.perf_counter()
        fit = torchfit.fit(syntax, data, ordered=True, std_lv=True, **options, **extra)
        seconds = time.perf_counter() - t
        m = ref.merge(fit.parameter_estimates(), on=["lhs", "op", "rhs"], suffixes=("_ref", ""))
        a, tau = m[m["op"] == "=~"], m[m["op"] == "|"]
        r = {"seconds": seconds, "iterations": int(fit.info["iterations"]),
             "mean_slope_bias_pct": float(100 * np.mean(a["est"] / a["est_ref"] - 1)),
             "rmse_slopes": float(np.sqrt(np.mean((a["est"] - a["est_ref"]) ** 2))),
             "rmse_thresholds": float(np.sqrt(np.mean((tau["est"] - tau["est_ref"]) ** 2)))}
        out[name] = r
        print(f"{name:<54}{seconds:>8.1f}{r['iterations']:>6}{r['mean_slope_bias_pct']:>13.3f}"
              f"{r['rmse_slopes']:>8.4f}{r['rmse_thresholds']:>9.4f}", flush=True)
    (ROOT / "bench" / "results" / "iwave_bias.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
