"""WLSMV and IWAVE on the same Big-Five-shaped data, both against the simulation truth
(issue 13): the two estimate different models (limited-information probit on polychoric
correlations; full-information logistic graded response), so each is compared with the
truth on the scale both share, the standardized loadings of the latent responses
(lambda / sqrt(lambda^2 + pi^2 / 3) for the logistic truth with unit factor variances),
and the factor correlations. IWAVE's raw (logistic) loadings are compared with the truth's
too. Times are of the default calls (SEs and fit measures included: WLSMV cfa() +
fit_measures(); IWAVE cfa(), whose default computes the OPG SEs).

    .venv/bin/python bench/wlsmv_vs_iwave.py                 # 50,000 rows
    .venv/bin/python bench/wlsmv_vs_iwave.py --sizes 621307  # full size (minutes)

Writes bench/results/wlsmv_vs_iwave.md and .json.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

import torchfit
from torchfit.datasets.simulate import simulate_big5

OUT = Path(__file__).resolve().parents[1] / "bench" / "results"


def _rmse(a, b) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def _against_truth(fit, truth) -> dict:
    """RMSEs of the fit's standardized loadings, factor correlations and (IWAVE) raw
    loadings against the truth, each loading matched by item."""
    pe = fit.parameter_estimates(standardized=True)
    lam = pe[pe["op"] == "=~"]
    items, factors = truth["items"], truth["factors"]
    true = truth["loadings"][[items.index(v) for v in lam["rhs"]],
                             [factors.index(f) for f in lam["lhs"]]]
    true_std = true / np.sqrt(true ** 2 + np.pi ** 2 / 3)
    cov = pe[(pe["op"] == "~~") & (pe["lhs"] != pe["rhs"]) & pe["lhs"].isin(factors)]
    true_corr = truth["corr"][[factors.index(f) for f in cov["lhs"]],
                              [factors.index(f) for f in cov["rhs"]]]
    return {"std_loading_rmse": _rmse(lam["std.all"], true_std),
            "corr_rmse": _rmse(cov["std.all"], true_corr),
            "raw_loading_rmse": _rmse(lam["est"], true)}


def run(n: int) -> list:
    data, truth = simulate_big5(n, seed=1)
    rows = []
    for label, kwargs in (("WLSMV (probit, polychorics)", {"ordered": True}),
                          ("IWAVE (logistic GRM)", {"ordered": True, "estimator": "IWAVE",
                                                    "quiet": True, "seed": 1})):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = torchfit.cfa(truth["syntax"], data, std_lv=True, **kwargs)
            if "estimator" not in kwargs:
                fit.fit_measures()
        seconds = time.perf_counter() - start
        out = _against_truth(fit, truth)
        if "estimator" not in kwargs:  # probit loadings: no raw-scale comparison
            out["raw_loading_rmse"] = float("nan")
        rows.append({"rows": n, "estimator": label, "seconds": seconds, **out})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50000")
    args = ap.parse_args()
    rows = [r for n in args.sizes.split(",") for r in run(int(n))]
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    load = os.getloadavg()[0]
    head = (f"# WLSMV and IWAVE on the same data, against the truth ({stamp}, "
            f"{platform.machine()}, {os.cpu_count()} cores, load average {load:.1f}, "
            f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})\n\n"
            f"`python bench/wlsmv_vs_iwave.py --sizes {args.sizes}`\n\n"
            "| rows | estimator | seconds | std. loading RMSE | factor corr. RMSE "
            "| logistic loading RMSE |\n|---|---|---|---|---|---|\n")
    lines = [f"| {r['rows']:,} | {r['estimator']} | {r['seconds']:.1f} | "
             f"{r['std_loading_rmse']:.4f} | {r['corr_rmse']:.4f} | "
             + ("-" if np.isnan(r["raw_loading_rmse"]) else f"{r['raw_loading_rmse']:.4f}")
             + " |" for r in rows]
    note = ("\nStandardized loadings are those of the latent responses; the truth's are "
            "lambda / sqrt(lambda^2 + pi^2/3) (logistic errors). WLSMV assumes normal ones, "
            "so part of its RMSE is the probit approximation of the logistic model, not "
            "sampling error.\n")
    OUT.mkdir(exist_ok=True)
    (OUT / "wlsmv_vs_iwave.md").write_text(head + "\n".join(lines) + "\n" + note)
    (OUT / "wlsmv_vs_iwave.json").write_text(json.dumps(rows, indent=1))
    print(head + "\n".join(lines))


if __name__ == "__main__":
    main()
