"""WLSMV on ordered items: torchfit against lavaan, in one run (issue 13).

Cases: HS x1-x9 cut at their quartiles (3-factor CFA), the simulated 2-factor
12-item five-category set (N = 3000; both from tests/reference/ordinal), and
Big-Five-shaped data (torchfit.datasets.simulate_big5: 50 five-category items,
five factors) at the sizes of --sizes.  Each fit is ordered = all items with
the default estimator (WLSMV); the time is that of the fit and all its fit
measures (lavaan: cfa() + fitMeasures(), timed inside R; torchfit: cfa() +
fit_measures()), the best of --repeats.  Writes bench/results/wlsmv.json and
wlsmv.md (times, ratios, the largest difference of the estimates and of the
scaled chi-square).

    .venv/bin/python bench/wlsmv.py                       # HS, 12 items, 50K x 50
    .venv/bin/python bench/wlsmv.py --sizes 50000,621307  # add the full size
    .venv/bin/python bench/wlsmv.py --no-lavaan --sizes 621307 --tag _full  # large, alone
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import torchfit
from torchfit.datasets.simulate import simulate_big5

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference" / "ordinal"
OUT = ROOT / "bench" / "results"

R_SCRIPT = r"""
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); model <- paste(readLines(args[2]), collapse = "\n")
items <- setdiff(names(d), "school"); reps <- as.integer(args[4])
best <- Inf
for (r in seq_len(reps)) {
  t0 <- proc.time()[["elapsed"]]
  fit <- cfa(model, d, ordered = items, std.lv = as.logical(args[5]))
  fm <- fitMeasures(fit)
  best <- min(best, proc.time()[["elapsed"]] - t0)
}
est <- parameterEstimates(fit, remove.nonfree = FALSE)$est
writeLines(jsonlite::toJSON(list(seconds = best, est = est,
  chisq_scaled = unname(fm["chisq.scaled"])), digits = NA, auto_unbox = TRUE), args[3])
"""


def _torchfit(model: str, data: pd.DataFrame, std_lv: bool, repeats: int):
    best, fit = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = torchfit.cfa(model, data, ordered=True, std_lv=std_lv)
            fm = fit.fit_measures()
        best = min(best, time.perf_counter() - t0)
    return best, fit.partable["est"].to_numpy(), fm["chisq.scaled"]


def _lavaan(model: str, data: pd.DataFrame, std_lv: bool, repeats: int, tmp: Path):
    csv, lav, out, script = (tmp / n for n in ("d.csv", "m.lav", "o.json", "b.R"))
    data.to_csv(csv, index=False)
    lav.write_text(model)
    script.write_text(R_SCRIPT)
    subprocess.run(["Rscript", str(script), str(csv), str(lav), str(out), str(repeats),
                    "TRUE" if std_lv else "FALSE"], check=True)
    res = json.loads(out.read_text())
    return res["seconds"], np.array(res["est"], dtype=float), res["chisq_scaled"]


def _cases(sizes, small: bool = True):
    if small:
        yield from _small_cases()
    for n in sizes:
        data, truth = simulate_big5(n, seed=1)
        yield f"Big-Five shaped ({n} x 50)", truth["syntax"], data, True


def _small_cases():
    yield "HS quartiles (301 x 9)", (REF / "hs.lav").read_text(), \
        pd.read_csv(REF / "hs_quartiles.csv"), False
    yield "simulated 12 items (3000 x 12)", (REF / "sim12.lav").read_text(), \
        pd.read_csv(REF / "sim12.csv"), False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50000")
    ap.add_argument("--repeats", type=int, default=3, help="for the small cases")
    ap.add_argument("--no-lavaan", action="store_true")
    ap.add_argument("--small", action="store_true", help="also HS and the 12-item set")
    ap.add_argument("--tag", default="", help="suffix of the result files")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, model, data, std_lv in _cases(sizes, args.small or not args.tag):
            reps = args.repeats if len(data) < 10_000 else 1
            t_tf, est_tf, chi_tf = _torchfit(model, data, std_lv, reps)
            row = {"case": name, "torchfit_s": t_tf, "rows": len(data),
                   "torchfit_s_per_1M_rows": t_tf / len(data) * 1e6}
            if not args.no_lavaan:
                t_lv, est_lv, chi_lv = _lavaan(model, data, std_lv, reps, Path(tmp))
                row.update(lavaan_s=t_lv, ratio=t_tf / t_lv,
                           max_abs_est_diff=float(np.nanmax(np.abs(est_tf - est_lv))),
                           chisq_scaled_rel_diff=abs(chi_tf / chi_lv - 1))
            rows.append(row)
            print(json.dumps(row))
    _write(rows, args.tag)


def _write(rows, tag: str = "") -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "load_average": os.getloadavg()[0], "torchfit": torchfit.__version__,
            "threads": os.environ.get("OMP_NUM_THREADS", "unset"),
            "command": " ".join(["python", *sys.argv])}
    (OUT / f"wlsmv{tag}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = [f"# WLSMV: torchfit vs lavaan ({meta['date']}, {meta['machine']}, "
             f"load average {meta['load_average']:.1f})", "",
             f"`OMP_NUM_THREADS={meta['threads']} {meta['command']}`", "",
             "| case | torchfit (s) | lavaan (s) | torchfit / lavaan | max |est diff| "
             "| chisq.scaled rel. diff |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['torchfit_s']:.2f} | {r.get('lavaan_s', np.nan):.2f} "
                     f"| {r.get('ratio', np.nan):.3f} | {r.get('max_abs_est_diff', np.nan):.1e} "
                     f"| {r.get('chisq_scaled_rel_diff', np.nan):.1e} |")
    (OUT / f"wlsmv{tag}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
