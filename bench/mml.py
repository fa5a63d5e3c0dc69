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
against the points per factor (and, for 3 factors, the pruning threshold of
the fixed rule's grid), on 2 factors (tests/reference/irt/graded_2f, exact ML
by the reference script), 3 correlated factors x 4 graded items
(tests/reference/irt/graded_3f, exact ML by the reference script: 41^3 and
51^3 points) and 3 factors x 4 graded items, N = 1000 (simulated, seed 3;
"exact" there is the fixed rule at 51 points per factor pruned at 1e-10,
14,621 nodes, which the run checks against 41 points pruned at 1e-6).
Writes bench/results/mml_quadrature.json and .md.
"""
from __future__ import annotations

import argparse
import contextlib
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


#: (rule, points per factor, pruning threshold of the 3-factor grid; None: the default)
QUADRATURE_RUNS = [("fixed", p, None) for p in (7, 11, 15, 21)] + \
    [("adaptive", p, None) for p in (3, 5, 7, 9, 11)]
THREE_FACTOR_RUNS = [("fixed", 15, 1e-14), ("fixed", 25, 1e-14), ("fixed", 31, 1e-6),
                     ("fixed", 35, 1e-5), ("fixed", 41, 1e-4), ("fixed", 41, None),
                     ("fixed", 41, 1e-6)] + [("adaptive", p, None) for p in (3, 5, 7)]
#: the independent 3-factor reference: the old and the new default
GRADED_3F_RUNS = [("fixed", 15, 1e-14), ("fixed", 41, None)]


@contextlib.contextmanager
def pruned(threshold):
    """The fixed rule's 3-factor pruning threshold set for one fit (the default
    when None): a measurement knob, not an option of the fit."""
    from torchfit.iwave import quadrature
    saved = quadrature.PRUNE[3]
    quadrature.PRUNE[3] = saved if threshold is None else threshold
    try:
        yield quadrature.PRUNE[3]
    finally:
        quadrature.PRUNE[3] = saved


def quadrature_runs(only=()) -> None:
    """Accuracy and time of the fixed and the adaptive rule against the points;
    ``only``: the cases (by their data's name) to measure again, the other rows
    kept from bench/results/mml_quadrature.json."""
    import torch

    import torchfit
    from torchfit.iwave.quadrature import DEFAULT_POINTS
    torch.set_num_threads(1)
    data3, truth3 = torchfit.datasets.simulate(1000, "graded", n_factors=3, items_per_factor=4,
                                               n_categories=4, seed=3)

    def fit(syntax, data, quadrature, points, prune):
        with pruned(prune) as used:
            t = time.perf_counter()
            f = torchfit.fit(syntax, data, estimator="MML", ordered=True, std_lv=True,
                             quadrature=quadrature, quad_points=points)
            return time.perf_counter() - t, f, used

    def exact(case):
        meta = json.loads((CASE.parent / "exact_irt.json").read_text())
        return (meta[case]["syntax"], pd.read_csv(CASE.parent / f"{case}.csv"),
                pd.read_csv(CASE.parent / f"{case}_exact.csv"))

    def simulated():
        ref = fit(truth3["syntax"], data3, "fixed", 51, 1e-10)[1].parameter_estimates()
        return truth3["syntax"], data3, ref

    cases = [("3 factors x 4 items (simulated)", simulated, THREE_FACTOR_RUNS),
             ("2 factors x 4 items (graded_2f)", lambda: exact("graded_2f"), QUADRATURE_RUNS),
             ("3 factors x 4 items (graded_3f)", lambda: exact("graded_3f"), GRADED_3F_RUNS)]
    rows = []
    if only:
        old = json.loads((ROOT / "bench" / "results" / "mml_quadrature.json").read_text())
        rows = [r for r in old if not any(name in r["case"] for name in only)]
        cases = [c for c in cases if any(name in c[0] for name in only)]
    for case, load, runs in cases:
        syntax, data, ref = load()
        for quadrature, points, prune in runs:
            seconds, f, used = fit(syntax, data, quadrature, points, prune)
            m = ref.merge(f.parameter_estimates(), on=["lhs", "op", "rhs"], suffixes=("_ref", ""))
            rows.append({"case": case, "quadrature": quadrature, "points": points,
                         "prune": used if quadrature == "fixed" and case.startswith("3") else None,
                         "default": prune is None and quadrature == "fixed" and
                         points == DEFAULT_POINTS[int(case[0])],
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
             "inflated; the rows of a case come from one run, the last written "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).", "",
             "| data | rule | points per factor | nodes | seconds | max abs est diff "
             "| max abs SE diff |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['case']} | {r['quadrature']}{' (default)' if r['default'] else ''} | "
              f"{_points(r)} | {r['nodes']} | {r['seconds']:.1f} | "
              f"{r['max_abs_est_diff']:.1e} | {r['max_abs_se_diff']:.1e} |" for r in rows]
    (out / "mml_quadrature.md").write_text("\n".join(lines + ["", NOTES]) + "\n")


NOTES = """\
"exact": graded_2f and graded_3f, the independent NumPy/SciPy script
(tests/reference/exact_irt.py; its own quadrature error, from a refit with more
points, is in the *_exact.csv files); the simulated 3-factor case, the fixed rule
at 51 points per factor pruned at 1e-10 (14,621 nodes), which the row "41
pruned at 1e-6" checks. "pruned at t": the product grid without the nodes whose
weight is below t times the largest (a ball of radius sqrt(2 log 1/t) prior sd);
the 1- and 2-factor rules prune at 1e-14.

The 3-factor default, 41 points pruned at 1e-5 (3,839 nodes), replaced 15 points
pruned at 1e-14 (2,819 nodes, the rows "15 pruned at 1e-14"): the error is set
by the grid's spacing where the posteriors sit, not by its far tails, so a finer
grid without its negligible corners is both more exact and about as cheap.
35 points pruned at 1e-5 is nearly as exact in fewer nodes, with SEs 6x
further off; pruning harder (41 at 1e-4) costs accuracy (the extreme response
patterns' posteriors reach 4-5 prior sd). The adaptive rule at 7 points is
further off than the default and several times slower: every row's nodes are its
own, so the categorical items' likelihood is not one shared table."""


def _points(row) -> str:
    """The points per factor, with the 3-factor grid's pruning threshold."""
    return str(row["points"]) if row["prune"] is None else \
        f"{row['points']} pruned at {row['prune']:.0e}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mirt-python", default="/work/venv-bench/bin/python")
    ap.add_argument("--no-iwave", action="store_true")
    ap.add_argument("--quadrature", action="store_true",
                    help="fixed vs adaptive quadrature instead (bench/results/mml_quadrature.*)")
    ap.add_argument("--cases", nargs="*", default=(),
                    help="with --quadrature: measure only these cases (graded_2f, graded_3f, "
                         "simulated), keeping the other rows")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "mml.json"))
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", RAYON_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    os.environ.update(env)
    if args.quadrature:
        return quadrature_runs(args.cases)
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
