"""The Holzinger-Swineford comparison of the README: lavaan ML, torchfit ML and
torchfit IWAVE (normal items), standardized latent variables, one run; with
--deepirtools-seeds, also DeepIRTools 0.2.1 IWAVE (its tutorial setting:
batch 32, lr 0.001, 10 IW samples, encoder [100]) and torchfit IWAVE with the
same seeds, in DeepIRTools' own environment (bench/.venv-deepirtools, made by
bench/big5.py --install-deepirtools).

    .venv/bin/python bench/hs_compare.py [--seed 1] [--deepirtools-seeds 1,2,3]

Prints markdown tables: the loadings, factor correlations and residual
variances of the fits, their log-likelihoods and times; then, per seed, the
time and the largest differences from lavaan of both IWAVE implementations.
"""
from __future__ import annotations

import argparse
import io
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import torchfit

ROOT = Path(__file__).resolve().parents[1]
MODEL = (ROOT / "tests" / "reference" / "models" / "hs_cfa.lav").read_text()
DIT_PY = ROOT / "bench" / ".venv-deepirtools" / "bin" / "python"
ITEMS = [f"x{j}" for j in range(1, 10)]
FACTORS = ["visual", "textual", "speed"]
LAVAAN = r"""
suppressPackageStartupMessages(library(lavaan))
model <- paste(readLines(commandArgs(trailingOnly = TRUE)[1]), collapse = "\n")
t <- system.time(fit <- cfa(model, data = HolzingerSwineford1939, std.lv = TRUE))[["elapsed"]]
pe <- parameterEstimates(fit)
pe$time <- t
pe$logl <- fitMeasures(fit, "logl")
write.csv(pe[, c("lhs", "op", "rhs", "est", "se", "time", "logl")], stdout(), row.names = FALSE)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--deepirtools-seeds", default="",
                        help="comma-separated seeds for DeepIRTools and torchfit IWAVE")
    args = parser.parse_args()
    hs = torchfit.datasets.holzinger_swineford()
    path = Path(__file__).resolve().parents[1] / "tests" / "reference" / "models" / "hs_cfa.lav"
    out = subprocess.run(["Rscript", "-e", LAVAAN, str(path)], check=True, capture_output=True,
                         text=True).stdout
    lav = pd.read_csv(io.StringIO(out))
    t = time.perf_counter()
    ml = torchfit.cfa(MODEL, hs, std_lv=True)
    ml.fit_measures()
    t_ml = time.perf_counter() - t
    t = time.perf_counter()
    iw = torchfit.cfa(MODEL, hs, std_lv=True, estimator="IWAVE", seed=args.seed, quiet=True)
    iw.fit_measures()
    t_iw = time.perf_counter() - t
    keys = ["lhs", "op", "rhs"]
    table = lav[keys + ["est"]].rename(columns={"est": "lavaan ML"})
    for name, fit in (("torchfit ML", ml), ("torchfit IWAVE", iw)):
        pe = fit.parameter_estimates()[keys + ["est"]].rename(columns={"est": name})
        table = table.merge(pe, on=keys)
    keep = (table["op"] == "=~") | ((table["op"] == "~~") & (table["lhs"] != table["rhs"])) | \
        ((table["op"] == "~~") & table["lhs"].str.startswith("x"))
    table = table[keep]
    print(f"Holzinger-Swineford, 3 factors, std.lv; torchfit {torchfit.__version__}; "
          f"IWAVE seed {args.seed}\n")
    print("| parameter | lavaan ML | torchfit ML | torchfit IWAVE |\n|---|---|---|---|")
    for r in table.itertuples(index=False):
        print(f"| {r[0]} {r[1]} {r[2]} | {r[3]:.3f} | {r[4]:.3f} | {r[5]:.3f} |")
    diff = lambda col, mask: np.abs(table.loc[mask, col] - table.loc[mask, "lavaan ML"]).max()
    load = table["op"] == "=~"
    corr = (table["op"] == "~~") & (table["lhs"] != table["rhs"])
    resid = (table["op"] == "~~") & (table["lhs"] == table["rhs"])
    print("\n| | lavaan ML | torchfit ML | torchfit IWAVE |\n|---|---|---|---|")
    print(f"| max abs difference from lavaan: loadings | | {diff('torchfit ML', load):.1e} | "
          f"{diff('torchfit IWAVE', load):.3f} |")
    print(f"| max abs difference: factor correlations | | {diff('torchfit ML', corr):.1e} | "
          f"{diff('torchfit IWAVE', corr):.3f} |")
    print(f"| max abs difference: residual variances | | {diff('torchfit ML', resid):.1e} | "
          f"{diff('torchfit IWAVE', resid):.3f} |")
    print(f"| log-likelihood | {lav['logl'].iloc[0]:.2f} | {ml.fit_measures()['logl']:.2f} | "
          f"{iw.fit_measures()['logl']:.2f} (importance sampling) |")
    print(f"| seconds (fit + measures) | {lav['time'].iloc[0]:.3f} | {t_ml:.3f} | {t_iw:.1f} |")
    if args.deepirtools_seeds:
        seeds = [int(v) for v in args.deepirtools_seeds.split(",")]
        side_by_side(hs, lav, seeds)


def _max_diffs(loadings: np.ndarray, corr: np.ndarray, lav: pd.DataFrame):
    """Largest absolute differences from lavaan of loadings (items x factors)
    and factor correlations."""
    load = lav[lav["op"] == "=~"]
    d_load = max(abs(loadings[ITEMS.index(r), FACTORS.index(l)] - e)
                 for l, r, e in zip(load["lhs"], load["rhs"], load["est"]))
    cov = lav[(lav["op"] == "~~") & lav["lhs"].isin(FACTORS) & (lav["lhs"] != lav["rhs"])]
    d_corr = max(abs(corr[FACTORS.index(l), FACTORS.index(r)] - e)
                 for l, r, e in zip(cov["lhs"], cov["rhs"], cov["est"]))
    return d_load, d_corr


def side_by_side(hs: pd.DataFrame, lav: pd.DataFrame, seeds) -> None:
    """DeepIRTools and torchfit IWAVE on the same data with the same seeds."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # DeepIRTools starts intercepts at 0 and moves them at lr 0.001: on the
        # raw scores (means 2-6) it creeps for ~100K iterations.  It gets the
        # z-scores, and its loadings are put back on the raw scale.
        raw = hs[ITEMS].to_numpy(dtype=np.float64)
        sd = raw.std(axis=0)
        data = Path(tmp) / "hs.npy"
        np.save(data, ((raw - raw.mean(axis=0)) / sd).astype(np.float32))
        for seed in seeds:
            out = Path(tmp) / f"dit_{seed}.json"
            subprocess.run([str(DIT_PY), str(ROOT / "bench" / "deepirtools_fit.py"),
                            "--train", str(data), "--model-type", "normal",
                            "--items-per-factor", "3", "--n-factors", "3", "--seed", str(seed),
                            "--out", str(out)], check=True)
            dit = json.loads(out.read_text())
            d_load, d_corr = _max_diffs(np.array(dit["loadings"]) * sd[:, None],
                                        np.array(dit["corr"]), lav)
            t = time.perf_counter()
            fit = torchfit.cfa(MODEL, hs, std_lv=True, estimator="IWAVE", seed=seed, quiet=True)
            fit.fit_measures()
            t_tf = time.perf_counter() - t
            pe = fit.parameter_estimates()
            lam = np.zeros((9, 3))
            for l, r, e in zip(pe["lhs"], pe["op"] + pe["rhs"], pe["est"]):
                if r.startswith("=~"):
                    lam[ITEMS.index(r[2:]), FACTORS.index(l)] = e
            corr = np.eye(3)
            for l, o, r, e in zip(pe["lhs"], pe["op"], pe["rhs"], pe["est"]):
                if o == "~~" and l in FACTORS and r in FACTORS and l != r:
                    corr[FACTORS.index(l), FACTORS.index(r)] = corr[FACTORS.index(r), FACTORS.index(l)] = e
            t_load, t_corr = _max_diffs(lam, corr, lav)
            rows.append((seed, dit["fit_s"], dit["iterations"], d_load, d_corr,
                         t_tf, fit.info["iterations"], t_load, t_corr))
    print("\nDeepIRTools 0.2.1 (batch 32, lr 0.001, 10 IW samples, [100]; z-scores, loadings "
          "rescaled) and torchfit IWAVE (defaults, raw scores), same seeds; max abs difference "
          "from lavaan ML\n")
    print("| seed | DeepIRTools s | iterations | loadings | factor corr. | torchfit s | "
          "iterations | loadings | factor corr. | time ratio |\n"
          "|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.1f} | {r[2]:,} | {r[3]:.3f} | {r[4]:.3f} | {r[5]:.1f} | "
              f"{r[6]:,} | {r[7]:.3f} | {r[8]:.3f} | {r[1] / r[5]:.1f} |")


if __name__ == "__main__":
    main()
