"""Bootstrap time: 1000 replicates of the Holzinger-Swineford CFA and of a
latent mediation model (PoliticalDemocracy, indirect effect by ``:=``),
torchfit's batched replicates vs lavaan's ``se = "bootstrap", bootstrap =
1000`` (timed inside R, called once via Rscript), measured in this one run.
Each time includes the fit itself.  The bootstrap SEs of both are printed
side by side (they differ by Monte-Carlo error only).

    .venv/bin/python bench/bootstrap.py [--draws 1000]
"""
from __future__ import annotations

import argparse
import io
import platform
import subprocess
import time

import pandas as pd
import torch

import torchfit

CASES = {
    "HS CFA": ("visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9",
               "HolzingerSwineford1939", torchfit.datasets.holzinger_swineford),
    "PolDem mediation": ("ind60 =~ x1 + x2 + x3; dem60 =~ y1 + y2 + y3 + y4; "
                         "dem65 =~ y5 + y6 + y7 + y8; dem60 ~ a*ind60; "
                         "dem65 ~ b*dem60 + c*ind60; ab := a*b",
                         "PoliticalDemocracy", torchfit.datasets.political_democracy),
}
LAVAAN = r"""
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE); draws <- as.integer(args[1])
model <- gsub(";", "\n", args[2]); data <- get(args[3])
invisible(sem(model, data = data))
set.seed(1)
seconds <- system.time(fit <- sem(model, data = data, se = "bootstrap",
                                  bootstrap = draws))[["elapsed"]]
pe <- parameterEstimates(fit)
cat(seconds, "\n")
write.csv(pe[, c("lhs", "op", "rhs", "se")], stdout(), row.names = FALSE)
"""


def lavaan_run(model: str, dataset: str, draws: int):
    out = subprocess.run(["Rscript", "-e", LAVAAN, str(draws), model, dataset],
                         check=True, capture_output=True, text=True)
    first, rest = out.stdout.split("\n", 1)
    return float(first), pd.read_csv(io.StringIO(rest))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    print(f"bootstrap = {args.draws}: one run each, torchfit {torchfit.__version__}, torch "
          f"{torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} torch thread(s)\n")
    rows = []
    for name, (model, dataset, load) in CASES.items():
        data = load()
        torchfit.sem(model, data)  # warm-up: imports, first-call allocations
        start = time.perf_counter()
        fit = torchfit.sem(model, data, se="bootstrap", bootstrap=args.draws, seed=1)
        ours = time.perf_counter() - start
        theirs, pe = lavaan_run(model, dataset, args.draws)
        rows.append((name, ours, theirs))
        mine = fit.parameter_estimates()[["lhs", "op", "rhs", "se"]]
        both = mine.merge(pe, on=["lhs", "op", "rhs"], suffixes=("_torchfit", "_lavaan"))
        print(f"{name}: bootstrap SEs\n{both[both['se_lavaan'] > 0].to_string(index=False)}\n")
    print("| model | torchfit | lavaan | lavaan / torchfit |\n|---|---|---|---|")
    for name, ours, theirs in rows:
        print(f"| {name} | {ours:.2f} s | {theirs:.2f} s | {theirs / ours:.1f} |")


if __name__ == "__main__":
    main()
