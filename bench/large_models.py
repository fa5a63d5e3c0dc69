"""ML on large CFAs: p indicators on p/10 factors (simple structure, N = 5000),
torchfit's default call (estimates, standard errors, fit measures) beside
lavaan's cfa(), each in its own process, with its peak memory; all measured in
this one run.  lavaan runs under a memory cap (--lavaan-gb): a run that needs
more is reported as stopped at the cap.

    .venv/bin/python bench/large_models.py [--sizes 50 100 200 400] [--lavaan-up-to 200]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
N = 5000
TORCHFIT = r"""
import json, resource, sys, time
import torchfit
from torchfit.datasets.simulate import simulate
p = int(sys.argv[1])
data, truth = simulate(%d, "normal", n_factors=p // 10, items_per_factor=10, seed=1)
t = time.perf_counter()
fit = torchfit.cfa(truth["syntax"], data, std_lv=True)
fit.fit_measures()
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "converged": bool(fit.converged),
                  "chisq": float(fit.fit_measures()["chisq"]),
                  "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
""" % N
LAVAAN = r"""
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
data <- read.csv(args[1]); model <- paste(readLines(args[2]), collapse = "\n")
t <- system.time(fit <- cfa(model, data = data, std.lv = TRUE))[["elapsed"]]
cat(t, fitMeasures(fit, "chisq"), "\n")
"""


def run_torchfit(p: int) -> dict:
    out = subprocess.run([sys.executable, "-c", TORCHFIT, str(p)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_lavaan(p: int, cap_gb: float) -> dict:
    from torchfit.datasets.simulate import simulate

    data, truth = simulate(N, "normal", n_factors=p // 10, items_per_factor=10, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        csv, lav = Path(tmp) / "data.csv", Path(tmp) / "model.lav"
        data.to_csv(csv, index=False)
        lav.write_text(truth["syntax"])
        cap = int(cap_gb * 2**30)

        def limit():
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

        t = time.perf_counter()
        out = subprocess.run(["Rscript", "-e", LAVAAN, str(csv), str(lav)], capture_output=True,
                             text=True, preexec_fn=limit)
        wall = time.perf_counter() - t
    if out.returncode != 0:
        reason = "memory" if "allocate" in out.stderr or "memory" in out.stderr else "error"
        return {"failed": f"stopped after {wall:.0f} s: {reason} ({cap_gb:g} GB cap)",
                "stderr": out.stderr[-300:]}
    seconds, chisq = (float(v) for v in out.stdout.split())
    return {"seconds": seconds, "chisq": chisq}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200, 400])
    parser.add_argument("--lavaan-up-to", type=int, default=200)
    parser.add_argument("--lavaan-gb", type=float, default=16.0)
    args = parser.parse_args()
    rows = []
    print(f"ML CFA, p indicators on p/10 factors, N = {N}; torchfit's default call "
          "(SEs and fit measures); each tool in its own process\n")
    print("| p | factors | free parameters | torchfit | peak memory | lavaan cfa() | ratio |")
    print("|---|---|---|---|---|---|---|")
    for p in args.sizes:
        ours = run_torchfit(p)
        theirs = run_lavaan(p, args.lavaan_gb) if p <= args.lavaan_up_to else None
        q = 2 * p + (p // 10) * (p // 10 - 1) // 2
        if theirs is None:
            lav, ratio = "not run", ""
        elif "failed" in theirs:
            lav, ratio = theirs["failed"], ""
        else:
            lav = f"{theirs['seconds']:.2f} s"
            ratio = f"{theirs['seconds'] / ours['seconds']:.1f}"
            assert abs(theirs["chisq"] - ours["chisq"]) <= 1e-4 * theirs["chisq"], (theirs, ours)
        print(f"| {p} | {p // 10} | {q} | {ours['seconds']:.2f} s | {ours['peak_gb']:.2f} GB "
              f"| {lav} | {ratio} |", flush=True)
        rows.append({"p": p, "torchfit": ours, "lavaan": theirs})
    out = ROOT / "bench" / "results" / "large_models.json"
    out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
