"""IWAVE on a CUDA GPU next to the CPU of the same machine, in one run:

  Holzinger-Swineford, normal items     time; max abs difference from torchfit ML
  Big-Five 621,307 x 50 GRM             the data set of bench/big5.py (simulate_big5,
                                        seed 0, 2% held out); time, loading and
                                        factor-correlation RMSE vs the truth,
                                        held-out log-likelihood per person

    python bench/gpu.py --out DIR [--batches 256,1024,4096] [--cpu-big5]

Writes DIR/gpu.json and DIR/gpu.md and prints the table.  Needs torch with
CUDA; the engine is imported from python/ of this checkout.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
import torch  # noqa: E402

import torchfit  # noqa: E402
from torchfit.datasets import holzinger_swineford, simulate_big5  # noqa: E402

HS = (ROOT / "tests" / "reference" / "models" / "hs_cfa.lav").read_text()


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def hs_row(device: str) -> dict:
    hs = holzinger_swineford()
    ml = torchfit.cfa(HS, hs, std_lv=True).parameter_estimates()
    t = time.perf_counter()
    fit = torchfit.cfa(HS, hs, std_lv=True, estimator="IWAVE", seed=1, quiet=True,
                       device=device)
    _sync(device)
    seconds = time.perf_counter() - t
    pe = fit.parameter_estimates().merge(ml, on=["lhs", "op", "rhs"], suffixes=("", "_ml"))
    diff = np.abs(pe["est"].to_numpy() - pe["est_ml"].to_numpy())
    load = (pe["op"] == "=~").to_numpy()
    corr = ((pe["op"] == "~~") & (pe["lhs"] != pe["rhs"])).to_numpy()
    resid = ((pe["op"] == "~~") & (pe["lhs"] == pe["rhs"]) & pe["lhs"].str.startswith("x")).to_numpy()
    return {"data": "HS", "device": device, "batch": fit.info["batch_size"], "seconds": seconds,
            "iterations": fit.info["iterations"], "converged": fit.info["converged"],
            "max_diff_loadings": float(diff[load].max()), "max_diff_corr": float(diff[corr].max()),
            "max_diff_resid": float(diff[resid].max())}


def big5_row(device: str, batch: int, data, holdout, truth) -> dict:
    t = time.perf_counter()
    fit = torchfit.cfa(truth["syntax"], data, std_lv=True, ordered=True, estimator="IWAVE",
                       se="none", seed=0, quiet=True, device=device, batch_size=batch)
    _sync(device)
    seconds = time.perf_counter() - t
    pe = fit.parameter_estimates()
    lam = pe[pe["op"] == "=~"].set_index(["lhs", "rhs"])["est"]
    want = [truth["loadings"][truth["items"].index(r), truth["factors"].index(f)]
            for f, r in lam.index]
    cov = pe[(pe["op"] == "~~") & pe["lhs"].isin(truth["factors"]) & (pe["lhs"] != pe["rhs"])]
    want_r = [truth["corr"][truth["factors"].index(a), truth["factors"].index(b)]
              for a, b in zip(cov["lhs"], cov["rhs"])]
    t = time.perf_counter()
    ll = fit.log_likelihood(holdout) / len(holdout)
    _sync(device)
    return {"data": "Big5 621K GRM", "device": device, "batch": batch, "seconds": seconds,
            "iterations": fit.info["iterations"], "epochs": fit.info["epochs"],
            "training_seconds": fit.info["seconds"], "converged": fit.info["converged"],
            "loading_rmse": float(np.sqrt(np.mean((lam.to_numpy() - want) ** 2))),
            "corr_rmse": float(np.sqrt(np.mean((cov["est"].to_numpy() - want_r) ** 2))),
            "heldout_ll": float(ll), "heldout_seconds": time.perf_counter() - t}


def table(rows) -> str:
    out = ["| data | device | batch | wall s | iterations | converged | accuracy |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["data"] == "HS":
            acc = (f"max abs diff from ML: loadings {r['max_diff_loadings']:.3f}, "
                   f"factor corr. {r['max_diff_corr']:.3f}, resid. var. {r['max_diff_resid']:.3f}")
        else:
            acc = (f"loading RMSE {r['loading_rmse']:.4f}, factor-corr RMSE "
                   f"{r['corr_rmse']:.4f}, held-out LL/person {r['heldout_ll']:.3f} "
                   f"({r['heldout_seconds']:.1f} s, 5,000 rows x 1000 draws)")
        out.append(f"| {r['data']} | {r['device']} | {r['batch']} | {r['seconds']:.1f} | "
                   f"{r['iterations']:,} | {r['converged']} | {acc} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    ap.add_argument("--batches", default="256,1024,4096")
    ap.add_argument("--cpu-big5", action="store_true", help="also fit Big5 on the CPU")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench/gpu.py needs a CUDA GPU (torch.cuda.is_available() is False)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
           "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
           "numpy": np.__version__, "cpus": os.cpu_count(), "threads": torch.get_num_threads(),
           "python": platform.python_version(), "torchfit": torchfit.__version__}
    print(env, flush=True)
    rows = []

    def record(row):
        rows.append(row)
        print(row, flush=True)
        (out / "gpu.json").write_text(json.dumps({"env": env, "rows": rows}, indent=1))
        (out / "gpu.md").write_text(
            f"Date {env['date']}; {env['gpu']}; torch {env['torch']}; {env['cpus']} CPUs "
            f"({env['threads']} torch threads); torchfit {env['torchfit']}.\n\n"
            + table(rows) + "\n")

    for device in ("cuda", "cpu"):
        record(hs_row(device))
    full, truth = simulate_big5(633_733, seed=0, dtype=np.int8)
    data, holdout = full.iloc[:621_307], full.iloc[621_307:626_307]
    for batch in [int(b) for b in args.batches.split(",")]:
        record(big5_row("cuda", batch, data, holdout, truth))
    if args.cpu_big5:
        record(big5_row("cpu", 256, data, holdout, truth))
    print(table(rows))


if __name__ == "__main__":
    main()
