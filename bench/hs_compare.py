"""The Holzinger-Swineford comparison of the README: lavaan ML, torchfit ML and
torchfit IWAVE (normal items), standardized latent variables, one run.

    .venv/bin/python bench/hs_compare.py [--seed 1]

Prints a markdown table of the loadings, factor correlations and residual
variances of the three fits, their log-likelihoods and times.
"""
from __future__ import annotations

import argparse
import io
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

import torchfit

MODEL = (Path(__file__).resolve().parents[1] / "tests" / "reference" / "models" /
         "hs_cfa.lav").read_text()
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


if __name__ == "__main__":
    main()
