"""IWAVE's default call on a quiet machine and beside one competing CPU-bound
process (issue 14's goal: with one competitor on the 2 cores, the call takes
<= 2.5x its quiet time).  The bench starts the competitor itself (a busy loop
in another Python process), runs the same call in a fresh process each time
(so torch's thread pool starts as a user's would), alternating quiet and
loaded runs, and reports the medians and their ratio, measured in one run.

    .venv/bin/python bench/iwave_loaded.py --n 621307 [--reps 1]

Writes bench/results/iwave_loaded.md and .json (every run).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results"
COMPETITOR = "x = 0\nwhile True:\n    x += 1\n"


def child(n: int) -> None:
    """One default IWAVE call in this process; prints its times as JSON."""
    import torch
    from iwave_default_call import default_call

    fit, wall, _ = default_call(n)
    print(json.dumps({"call": wall, "training": fit.info["seconds"],
                      "threads": torch.get_num_threads()}))


def run_child(n: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", "--n", str(n)],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "python")})
    return json.loads(out.stdout.strip().splitlines()[-1])


def loaded(n: int) -> dict:
    competitor = subprocess.Popen([sys.executable, "-c", COMPETITOR])
    try:
        time.sleep(1.0)  # the competitor is running before the fit starts
        return run_child(n)
    finally:
        competitor.kill()
        competitor.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=621_307)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.n)
        return
    load0 = os.getloadavg()[0]
    quiet, busy = [], []
    for _ in range(args.reps):
        quiet.append(run_child(args.n))
        busy.append(loaded(args.n))

    def med(runs, key):
        return float(np.median([r[key] for r in runs]))

    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    rows = [("quiet", quiet), ("one competing process", busy)]
    text = (f"# IWAVE default call, quiet and beside one competing process ({stamp}, "
            f"{platform.machine()}, {os.cpu_count()} cores, load average {load0:.1f} before "
            f"the run, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
            f"torch threads {quiet[0]['threads']})\n\n"
            f"`python bench/iwave_loaded.py --n {args.n} --reps {args.reps}` (medians of "
            f"{args.reps}, quiet and loaded runs alternated)\n\n"
            "| machine | call (s) | training (s) | call / quiet call |\n|---|---|---|---|\n")
    for name, runs in rows:
        text += (f"| {name} | {med(runs, 'call'):.1f} | {med(runs, 'training'):.1f} | "
                 f"{med(runs, 'call') / med(quiet, 'call'):.2f} |\n")
    OUT.mkdir(exist_ok=True)
    for suffix, content in ((".md", text), (".json", json.dumps(dict(rows), indent=1))):
        (OUT / "iwave_loaded").with_suffix(suffix).write_text(content)
    print(text)


if __name__ == "__main__":
    main()
