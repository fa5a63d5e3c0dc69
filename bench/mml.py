"""Marginal ML (torchfit ``estimator="MML"``) against the PyPI ``mirt`` package's
EM, and IWAVE, on one data set, in one run: 1 factor x 10 five-category graded
items, N = 5000 (tests/reference/irt/graded_1f_n5000.csv), with the exact ML
solution of the independent quadrature script (tests/reference/exact_irt.py).

mirt needs NumPy 2 and runs in its own environment (torchfit's keeps NumPy < 2):

    python3 -m venv /work/venv-bench && /work/venv-bench/bin/python -m pip install mirt
    python bench/mml.py --mirt-python /work/venv-bench/bin/python [--no-iwave]

Each tool fits the data twice in one process: "first" includes what a first
call in a fresh session pays (lazy imports, allocations), "again" is a warm
fit.  All fits run on one thread (OMP_NUM_THREADS=1, RAYON_NUM_THREADS=1) and
compute standard errors (their defaults).  mirt's GRM is a (theta - b_k):
its thresholds are converted to torchfit's a * b_k.  Writes bench/results/mml.json.

``--quadrature``: instead, the fixed and the adaptive rule's accuracy and time
against the points per factor, on 2 factors (tests/reference/irt/graded_2f,
exact ML by the reference script) and 3 factors x 4 graded items, N = 1000
(simulated, seed 3; "exact" there is the fixed rule at 25 points per factor,
15,625 nodes).  Writes bench/results/mml_quadrature.json and .md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "tests" / "reference" / "irt" / "graded_1f_n5000"

MIRT_SCRIPT = r"""
import json, sys, time
import numpy as np
import mirt
y = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1).astype(int)
out = {"version": mirt.__version__}
for points in (61, 21):
    times = []
    for _ in range(2):
        t = time.perf_counter()
        r = mirt.fit_mirt(y, model="GRM", n_quadpts=points)
        times.append(time.perf_counter() - t)
    a = np.asarray(r.model.discrimination, dtype=float).ravel()
    b = np.asarray(r.model.thresholds, dtype=float)
    out[str(points)] = {"first": times[0], "again": times[1], "slopes": a.tolist(),
                        "thresholds": (a[:, None] * b).tolist(),
                        "iterations": int(r.n_iterations), "converged": bool(r.converged),
                        "logl": float(r.log_likelihood)}
print(json.dumps(out))
"""


def exact():
    ref = pd.read_csv(f"{CASE}_exact.csv")
    slopes = ref.loc[ref["op"] == "=~", "est"].to_numpy()
    thr = ref.loc[ref["op"] == "|"]
    return slopes, thr.pivot(index="lhs", columns="rhs", values="est").loc[
        [f"y{j + 1}" for j in range(len(slopes))]].to_numpy()


def compare(slopes, thresholds, ref_slopes, ref_thresholds) -> dict:
    slopes, thresholds = np.asarray(slopes), np.asarray(thresholds)
    return {"max_abs_slope_diff": float(np.abs(slopes - ref_slopes).max()),
            "max_abs_threshold_diff": float(np.abs(thresholds - ref_thresholds).max()),
            "mean_slope_bias_pct": float(np.mean(slopes / ref_slopes - 1) * 100)}


def torchfit_runs(data: pd.DataFrame, iwave: bool) -> dict:
    import torch  # lazy: after the environment variables are set

    import torchfit
    torch.set_num_threads(1)
    syntax = "f1 =~ " + " + ".join(data.columns)
    runs = {"MML": dict(estimator="MML")}
    if iwave:
        runs["IWAVE"] = dict(estimator="IWAVE", quiet=True, seed=0)
    out = {}
    for name, options in runs.items():
        times, fit = [], None
        for _ in range(2):
            t = time.perf_counter()
            fit = torchfit.fit(syntax, data, ordered=True, std_lv=True, **options)
            times.append(time.perf_counter() - t)
        pe = fit.parameter_estimates()
        slopes = pe.loc[pe["op"] == "=~", "est"].to_numpy()
        thr = pe.loc[pe["op"] == "|"].pivot(index="lhs", columns="rhs", values="est")
        out[name] = {"first": times[0], "again": times[1], "slopes": slopes.tolist(),
                     "thresholds": thr.loc[list(data.columns)].to_numpy().tolist(),
                     "iterations": int(fit.info["iterations"]),
                     "converged": bool(fit.converged),
                     "logl": float(fit.fit_measures()["logl"])}
    return out


QUADRATURE_RUNS = [("fixed", p) for p in (7, 11, 15, 21)] + \
    [("adaptive", p) for p in (3, 5, 7, 9, 11)]
#: 3 factors: the fixed rule up to 15 points, the adaptive (slow: untabulated) up to 7
THREE_FACTOR_MAX = {"fixed": 15, "adaptive": 7}


def quadrature_runs() -> None:
    """Accuracy and time of the fixed and the adaptive rule against the points."""
    import torch

    import torchfit
    torch.set_num_threads(1)
    ref2 = pd.read_csv(CASE.parent / "graded_2f_exact.csv")
    data2 = pd.read_csv(CASE.parent / "graded_2f.csv")
    syntax2 = json.loads((CASE.parent / "exact_irt.json").read_text())["graded_2f"]["syntax"]
    data3, truth3 = torchfit.datasets.simulate(1000, "graded", n_factors=3, items_per_factor=4,
                                               n_categories=4, seed=3)

    def fit(syntax, data, quadrature, points):
        t = time.perf_counter()
        f = torchfit.fit(syntax, data, estimator="MML", ordered=True, std_lv=True,
                         quadrature=quadrature, quad_points=points)
        return time.perf_counter() - t, f

    _, exact3 = fit(truth3["syntax"], data3, "fixed", 25)
    cases = {"2 factors x 4 items (graded_2f)": (syntax2, data2, ref2),
             "3 factors x 4 items (simulated)": (truth3["syntax"], data3,
                                                  exact3.parameter_estimates())}
    rows = []
    for case, (syntax, data, ref) in cases.items():
        for quadrature, points in QUADRATURE_RUNS:
            if case.startswith("3") and points > THREE_FACTOR_MAX[quadrature]:
                continue
            seconds, f = fit(syntax, data, quadrature, points)
            m = ref.merge(f.parameter_estimates(), on=["lhs", "op", "rhs"], suffixes=("_ref", ""))
            rows.append({"case": case, "quadrature": quadrature, "points": points,
                         "nodes": int(f.info["quad_nodes"]), "seconds": seconds,
                         "max_abs_est_diff": float((m["est"] - m["est_ref"]).abs().max()),
                         "max_abs_se_diff": float((m["se"] - m["se_ref"]).abs().max())})
            print(rows[-1], flush=True)
            write_quadrature(rows)


def write_quadrature(rows) -> None:
    """bench/results/mml_quadrature.json and .md (after each fit: a long run
    stopped later keeps what it measured)."""
    out = ROOT / "bench" / "results"
    (out / "mml_quadrature.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = ["# MML: fixed vs adaptive Gauss-Hermite quadrature", "",
             "Max abs. difference from exact ML of the estimates and SEs, and the fit's "
             "seconds (one thread; 2 cores shared with other sessions, so seconds are "
             f"inflated; one run, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).", "",
             "| data | rule | points per factor | nodes | seconds | max abs est diff "
             "| max abs SE diff |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['case']} | {r['quadrature']} | {r['points']} | {r['nodes']} | "
              f"{r['seconds']:.1f} | {r['max_abs_est_diff']:.1e} | {r['max_abs_se_diff']:.1e} |"
              for r in rows]
    (out / "mml_quadrature.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mirt-python", default="/work/venv-bench/bin/python")
    ap.add_argument("--no-iwave", action="store_true")
    ap.add_argument("--quadrature", action="store_true",
                    help="fixed vs adaptive quadrature instead (bench/results/mml_quadrature.*)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "mml.json"))
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", RAYON_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    os.environ.update(env)
    if args.quadrature:
        return quadrature_runs()
    data = pd.read_csv(f"{CASE}.csv")
    ref_slopes, ref_thr = exact()
    results = {"data": str(CASE.relative_to(ROOT)) + ".csv", "n": len(data),
               "exact_logl": json.loads((CASE.parent / "exact_irt.json").read_text())
               ["graded_1f_n5000"]["logl"], "fits": {}}
    proc = subprocess.run([args.mirt_python, "-c", MIRT_SCRIPT, f"{CASE}.csv"], env=env,
                          capture_output=True, text=True)
    if proc.returncode == 0:
        m = json.loads(proc.stdout.strip().splitlines()[-1])
        results["mirt_version"] = m.pop("version")
        for points, r in m.items():
            results["fits"][f"mirt EM ({points} points)"] = r
    else:
        results["mirt_error"] = proc.stderr[-2000:]
    for name, r in torchfit_runs(data, not args.no_iwave).items():
        results["fits"][f"torchfit {name}"] = r
    print(f"{'fit':<24}{'first s':>9}{'again s':>9}{'iter':>6}{'max|da|':>10}"
          f"{'max|dtau|':>11}{'slope bias %':>14}{'logl - exact':>14}")
    for name, r in results["fits"].items():
        r.update(compare(r["slopes"], r["thresholds"], ref_slopes, ref_thr))
        print(f"{name:<24}{r['first']:>9.2f}{r['again']:>9.2f}{r['iterations']:>6}"
              f"{r['max_abs_slope_diff']:>10.1e}{r['max_abs_threshold_diff']:>11.1e}"
              f"{r['mean_slope_bias_pct']:>14.3f}{r['logl'] - results['exact_logl']:>14.4f}")
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    if "mirt_error" in results:
        print("mirt failed:", results["mirt_error"], file=sys.stderr)


if __name__ == "__main__":
    main()
