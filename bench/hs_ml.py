"""Fit time of ML on the Holzinger-Swineford CFA and the PoliticalDemocracy SEM:
torchfit from Python vs lavaan (timed inside R, called once via Rscript) and,
when installed, semopy, all measured in this one run.  Median of --reps fits.

    .venv/bin/python bench/hs_ml.py [--reps 20]
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import time
from pathlib import Path

import torchfit

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "tests" / "reference" / "models"
CASES = {
    "HS CFA": ("hs_cfa.lav", "HolzingerSwineford1939", torchfit.datasets.holzinger_swineford),
    "PolDem SEM": ("poldem_sem.lav", "PoliticalDemocracy", torchfit.datasets.political_democracy),
}
LAVAAN = r"""
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE); reps <- as.integer(args[1])
model <- paste(readLines(args[2]), collapse = "\n"); data <- get(args[3])
invisible(sem(model, data = data))
times <- sapply(seq_len(reps), function(i) system.time(sem(model, data = data))[["elapsed"]])
cat(median(times))
"""


def median_time(fn, reps: int) -> float:
    fn()  # warm-up: imports, first-call allocations
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def lavaan_time(model_file: Path, dataset: str, reps: int) -> float:
    out = subprocess.run(["Rscript", "-e", LAVAAN, str(reps), str(model_file), dataset],
                         check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def semopy_time(model: str, data, reps: int):
    try:
        import semopy
    except ImportError:
        return None
    return median_time(lambda: semopy.Model(model).fit(data), reps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    rows = []
    for name, (file, dataset, loader) in CASES.items():
        model = (MODELS / file).read_text()
        data = loader()
        ours = median_time(lambda: torchfit.sem(model, data), args.reps)
        # The measures lavaan computes inside sem() are computed lazily here:
        # time them too so the comparison covers the same work.
        full = median_time(lambda: torchfit.sem(model, data).fit_measures(), args.reps)
        lav = lavaan_time(MODELS / file, dataset, args.reps)
        sem = semopy_time(model, data, args.reps)
        rows.append({"model": name, "torchfit_s": ours, "torchfit_with_measures_s": full,
                     "lavaan_s": lav, "semopy_s": sem})
    print(f"ML fit time, median of {args.reps} fits, {platform.processor() or platform.machine()}, "
          f"torchfit {torchfit.__version__}")
    print("| model | torchfit (Python) | + all fit measures | lavaan sem() | ratio lavaan/torchfit "
          "| semopy fit() | ratio semopy/torchfit |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        sem = "n/a" if r["semopy_s"] is None else f"{r['semopy_s'] * 1e3:.1f} ms"
        sem_ratio = "n/a" if r["semopy_s"] is None else f"{r['semopy_s'] / r['torchfit_s']:.2f}"
        print(f"| {r['model']} | {r['torchfit_s'] * 1e3:.1f} ms | "
              f"{r['torchfit_with_measures_s'] * 1e3:.1f} ms | {r['lavaan_s'] * 1e3:.1f} ms | "
              f"{r['lavaan_s'] / r['torchfit_with_measures_s']:.2f} | {sem} | {sem_ratio} |")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "hs_ml_python.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
