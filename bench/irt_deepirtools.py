"""torchfit's IWAVE (its defaults: DReG gradients and the final pass) against
DeepIRTools 0.2.1 (its defaults: DReG, batch 32, lr 0.001, 10 importance
samples) on issue 17's data: 3 correlated factors x 8 five-category items,
N = 20,000, graded and generalized partial credit responses simulated by
torchfit.datasets.simulate.  Both tools fit the same data file in one run;
the loading RMSE is against the true loadings (DeepIRTools' factor signs
aligned as its own invert_factors does), the time is the fit's wall clock.

    PYTHONPATH=python python bench/irt_deepirtools.py [--seeds 17 18 ...] [--kinds graded gpcm]

DeepIRTools runs in its own environment, bench/.venv-deepirtools (see
bench/big5.py's hint to create it).  One thread each (OMP_NUM_THREADS=1).
Writes bench/results/irt_deepirtools.json and .md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
DIT_PY = BENCH / ".venv-deepirtools" / "bin" / "python"
DIT_TYPE = {"graded": "grm", "gpcm": "gpcm"}
N, FACTORS, PER, CATEGORIES = 20_000, 3, 8, 5


def fit_torchfit(kind, data, truth, seed, se=None):
    """The fit's seconds, iterations and loadings: the call users make (its
    defaults, standard errors included) or, with ``se="none"``, the estimates
    alone, as DeepIRTools gives them."""
    import torchfit
    options = {} if se is None else {"se": se}
    t = time.perf_counter()
    fit = torchfit.fit(truth["syntax"], data, estimator="IWAVE", std_lv=True,
                       item_types={v: kind for v in data.columns}, seed=seed, **options)
    seconds = time.perf_counter() - t
    pe = fit.parameter_estimates()
    load = np.zeros_like(truth["loadings"])
    for lhs, rhs, est in pe.loc[pe["op"] == "=~", ["lhs", "rhs", "est"]].itertuples(index=False):
        load[list(data.columns).index(rhs), int(lhs[1:]) - 1] = est
    return seconds, fit.info["iterations"], load


def fit_deepirtools(kind, data, seed, tmp: Path):
    train, out = tmp / f"{kind}.npy", tmp / f"{kind}_dit.json"
    np.save(train, data.to_numpy().astype(np.float32))
    cmd = [str(DIT_PY), str(BENCH / "deepirtools_fit.py"), "--train", str(train),
           "--model-type", DIT_TYPE[kind], "--n-factors", str(FACTORS),
           "--items-per-factor", str(PER), "--seed", str(seed), "--out", str(out)]
    subprocess.run(cmd, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    res = json.loads(out.read_text())
    return res["fit_s"], np.asarray(res["loadings"]), res


def rmse(est, truth):
    on = truth != 0
    return float(np.sqrt(np.mean((est[on] - truth[on]) ** 2)))


def bias(est, truth):
    on = truth != 0
    return float(np.mean(est[on] / truth[on] - 1))


def compare(kind, seed, tmp: Path) -> dict:
    """Both tools on one simulated data set (``seed``): times, iterations,
    loading RMSE and bias."""
    import torchfit
    data, truth = torchfit.datasets.simulate(N, kind, n_factors=FACTORS, items_per_factor=PER,
                                             n_categories=CATEGORIES, seed=seed)
    tf_s, tf_iterations, tf_load = fit_torchfit(kind, data, truth, seed, "none")
    default_s, _, default_load = fit_torchfit(kind, data, truth, seed)
    dit_s, dit_load, dit = fit_deepirtools(kind, data, seed, tmp)
    return {
        "seed": seed, "torchfit_s": tf_s, "deepirtools_s": dit_s, "speedup": dit_s / tf_s,
        "torchfit_default_s": default_s, "speedup_default": dit_s / default_s,
        "torchfit_iterations": tf_iterations,
        "torchfit_default_rmse": rmse(default_load, truth["loadings"]),
        "torchfit_rmse": rmse(tf_load, truth["loadings"]),
        "deepirtools_rmse": rmse(dit_load, truth["loadings"]),
        "torchfit_mean_relative_bias": bias(tf_load, truth["loadings"]),
        "deepirtools_mean_relative_bias": bias(dit_load, truth["loadings"]),
        "deepirtools_iterations": dit["iterations"], "deepirtools_epochs": dit["epochs"],
        "deepirtools": dit["deepirtools"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, nargs="+", default=[17],
                    help="data (and fit) seeds; with several, the table's mean rows")
    ap.add_argument("--kinds", nargs="+", default=["graded", "gpcm"])
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch
    torch.set_num_threads(1)
    rows = {kind: [] for kind in args.kinds}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for kind in args.kinds:
                rows[kind].append(compare(kind, seed, Path(tmp)))
                print(kind, rows[kind][-1], flush=True)
                write(rows, args.seeds)  # each fit as soon as it is done


def _mean_row(runs) -> dict:
    """The mean of each figure over seeds (speed-ups: of the per-seed ratios)."""
    return {k: float(np.mean([r[k] for r in runs])) for k in runs[0]
            if isinstance(runs[0][k], (int, float))}


def write(rows, seeds) -> None:
    """The results so far: bench/results/irt_deepirtools.json and .md."""
    import torchfit
    versions = {r["deepirtools"] for runs in rows.values() for r in runs}
    meta = {"n": N, "factors": FACTORS, "items_per_factor": PER, "categories": CATEGORIES,
            "seeds": seeds, "torchfit": torchfit.__version__, "deepirtools": sorted(versions),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other "
                       "sessions (timings under load; the ratios are from one run)",
            "threads": 1, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load_average": os.getloadavg()}
    out = BENCH / "results"
    (out / "irt_deepirtools.json").write_text(json.dumps({"meta": meta, "rows": rows},
                                                         indent=1) + "\n")
    lines = ["# torchfit IWAVE vs DeepIRTools 0.2.1 (issue 17)", "",
             f"3 correlated factors x 8 items, 5 categories, N = {N}, data and fit seeds "
             f"{', '.join(map(str, seeds))}; both "
             "tools' defaults, one thread each, the same data; loading RMSE and mean relative "
             "bias against the true loadings. " + meta["machine"] + "; load average "
             + " / ".join(f"{x:.1f}" for x in meta["load_average"]) + " (1 / 5 / 15 min) at "
             "the end, " + meta["date"] + ". torchfit s: its fit without standard errors "
             "(se = \"none\", what DeepIRTools computes); default call: torchfit's defaults, "
             "OPG standard errors included (the same estimates).", "",
             "| items | seed | torchfit RMSE | DeepIRTools RMSE | torchfit bias "
             "| DeepIRTools bias | torchfit iterations | torchfit s | torchfit default call s "
             "| DeepIRTools s | speed-up | speed-up, default call |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for kind, runs in rows.items():
        shown = runs + ([dict(_mean_row(runs), seed="mean")] if len(runs) > 1 else [])
        for r in shown:
            lines.append(f"| {kind} | {r['seed']} | {r['torchfit_rmse']:.5f} | "
                         f"{r['deepirtools_rmse']:.5f} | "
                         f"{100 * r['torchfit_mean_relative_bias']:+.2f} % | "
                         f"{100 * r['deepirtools_mean_relative_bias']:+.2f} % | "
                         f"{r['torchfit_iterations']:.0f} | {r['torchfit_s']:.1f} | "
                         f"{r['torchfit_default_s']:.1f} | {r['deepirtools_s']:.1f} | "
                         f"{r['speedup']:.1f}x | {r['speedup_default']:.1f}x |")
    (out / "irt_deepirtools.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
