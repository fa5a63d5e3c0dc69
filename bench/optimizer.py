"""The ML optimiser: fit time on well-behaved models and the hard-model corpus.

Speed: HS CFA, PoliticalDemocracy SEM and the Big-Five CFA (50 items,
simulate_big5(n=10000), std.lv), the fastest and the median of --reps fits.
With --baseline REV the same fits of another git revision run interleaved
with these, one after the other in this process, so that the load of a
shared machine falls on both alike.

Corpus (--corpus): every model of tests/reference/optimizer (written by
tests/reference/make_optimizer_corpus.R) fitted twice with lavaan's
iteration bound: how many lavaan converged, how many torchfit matched
(chi-square within 1e-6 relative of lavaan's), and whether the two fits
were bit-identical.

    .venv/bin/python bench/optimizer.py [--reps 40] [--baseline HEAD~3] [--corpus]
"""
from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import torchfit

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "tests" / "reference" / "models"
CORPUS = ROOT / "tests" / "reference" / "optimizer"
BIG5 = "; ".join(f"{f} =~ " + " + ".join(f"{f}{i}" for i in range(1, 11))
                 for f in ("EXT", "EST", "AGR", "CSN", "OPN"))


def baseline(rev: str):
    """torchfit of git revision ``rev``, imported as ``torchfit_baseline``
    (the package imports itself only relatively)."""
    where = Path(tempfile.mkdtemp())
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "python/torchfit"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    (where / "python" / "torchfit").rename(where / "torchfit_baseline")
    sys.path.insert(0, str(where))
    return importlib.import_module("torchfit_baseline")


def cases():
    """(name, fit of a torchfit package) of the well-behaved models."""
    hs = torchfit.datasets.holzinger_swineford()
    pol = torchfit.datasets.political_democracy()
    big5 = torchfit.datasets.simulate_big5(10000, seed=0)[0]
    hs_model = (MODELS / "hs_cfa.lav").read_text()
    pol_model = (MODELS / "poldem_sem.lav").read_text()
    return [
        ("HS CFA", lambda tf: tf.sem(hs_model, hs)),
        ("PolDem SEM", lambda tf: tf.sem(pol_model, pol)),
        ("Big-Five CFA (N = 10,000)", lambda tf: tf.cfa(BIG5, big5, std_lv=True)),
    ]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def speed(reps: int, other=None) -> None:
    packages = [torchfit] + ([other] if other is not None else [])
    print(f"ML fit time, {reps} fits each (interleaved), torchfit from "
          + " and ".join(str(Path(p.__file__).parent) for p in packages))
    print("| model | " + " | ".join(f"{p.__name__} fastest | median | iterations"
                                    for p in packages) + " |")
    print("|---|" + "---|---|---|" * len(packages))
    for name, fit in cases():
        runs = [fit(p) for p in packages]  # warm-up: imports, first-call allocations
        times = [[] for _ in packages]
        for _ in range(reps):
            for p, t in zip(packages, times):
                t.append(timed(lambda: fit(p)))
        cells = [f"{min(t) * 1e3:.1f} ms | {statistics.median(t) * 1e3:.1f} ms | "
                 f"{r.info['iterations']}" for t, r in zip(times, runs)]
        print(f"| {name} | " + " | ".join(cells) + " |")


def fit_case(case, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torchfit.sem(case.model, data, std_lv=bool(case.std_lv), iter_max=10000)


def corpus() -> None:
    table = pd.read_csv(CORPUS / "cases.csv")
    matched = identical = 0
    start = time.perf_counter()
    for case in table.itertuples():
        data = pd.read_csv(CORPUS / "data" / f"{case.name}.csv")
        first, second = fit_case(case, data), fit_case(case, data)
        chisq = first.fit_measures()["chisq"]
        if case.converged and abs(chisq - case.chisq) <= 1e-6 * case.chisq:
            matched += 1
        same = np.array_equal(first.partable["est"].to_numpy(), second.partable["est"].to_numpy())
        identical += bool(same and chisq == second.fit_measures()["chisq"])
    seconds = time.perf_counter() - start
    print(f"{len(table)} models, lavaan converged on {int(table['converged'].sum())}, torchfit "
          f"matched lavaan's chi-square (1e-6 relative) on {matched}; repeated fits "
          f"bit-identical on {identical} of {len(table)}; {seconds:.0f} s for "
          f"{2 * len(table)} fits")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--baseline", help="a git revision to time against")
    parser.add_argument("--corpus", action="store_true", help="also fit the hard-model corpus")
    args = parser.parse_args()
    speed(args.reps, baseline(args.baseline) if args.baseline else None)
    if args.corpus:
        corpus()


if __name__ == "__main__":
    main()
