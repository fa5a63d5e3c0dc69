"""Past one process (issue 15): data-parallel fits on torch.distributed and
moments of Parquet data read by row group.

  parquet   writes an --rows x --cols Parquet data set (row groups of
            --row-group rows, float64) and forms its ML moments (mean and
            covariance) three ways, each in a fresh process so that its peak
            RSS is its own: streamed from Parquet (one process), streamed from
            Parquet on 2 gloo ranks, and the in-memory path (the whole matrix
            loaded, then torchfit.data.frames.sample_moments on it);
  iwave     a five-factor graded response model on --iwave-rows simulated
            Big-Five rows (torchfit.datasets.simulate_big5), written as
            Parquet: 1 process x 2 threads vs 2 gloo processes x 1 thread;

and writes bench/out/distributed.json and bench/out/distributed.md.

    .venv/bin/python bench/distributed.py                     # 10M x 50, IWAVE 621K
    .venv/bin/python bench/distributed.py --rows 2000000 --iwave-rows 100000
    .venv/bin/python bench/distributed.py --quick             # smoke run

The data set needs rows x cols x 8 bytes of disk (4 GB at 10M x 50); the
script checks the free space first and scales --rows down if it must (it says
so). The scaling analysis is bench/scaling.py.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from workers import header, peak_rss_mb, run_json

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "python"))

import torch  # noqa: E402

import torchfit  # noqa: E402
from torchfit.data.frames import sample_moments  # noqa: E402
from torchfit.data.sources import open_source  # noqa: E402
from torchfit.distributed.local import run_local  # noqa: E402

# the log-likelihood (fit_measures) of all the rows is part of both runs: a distributed
# fit sums it over the ranks before they part, a one-process fit when asked
IWAVE = dict(std_lv=True, estimator="IWAVE", ordered=True, seed=0, quiet=True,
             batch_size=256, se="none", logl_samples=100)


# -- writing the data ------------------------------------------------------------------
def write_parquet(path: Path, rows: int, cols: int, row_group: int, seed: int = 0) -> None:
    """A one-factor-ish float64 data set, written one row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(seed)
    names = [f"x{j + 1}" for j in range(cols)]
    load = np.linspace(0.4, 0.9, cols)
    with pq.ParquetWriter(path, pa.schema([(v, pa.float64()) for v in names]),
                          compression="none") as w:
        for start in range(0, rows, row_group):
            m = min(row_group, rows - start)
            X = rng.normal(size=(m, 1)) * load + rng.normal(size=(m, cols))
            w.write_table(pa.table({v: X[:, j] for j, v in enumerate(names)}),
                          row_group_size=row_group)


def write_big5(path: Path, rows: int, row_group: int) -> dict:
    from torchfit.datasets import simulate_big5
    data, truth = simulate_big5(rows, seed=0, dtype=np.int8)
    data.to_parquet(path, row_group_size=row_group)
    return {k: truth[k] for k in ("syntax", "loadings", "items", "factors")}


# -- workers (each in its own process) -------------------------------------------------
def moments_rank(path: str, names):
    import torch.distributed as dist

    from torchfit.data.sources import shard
    from torchfit.distributed.comm import Communicator
    comm = Communicator()
    t = time.perf_counter()
    m = sample_moments(shard(path, comm), names)
    seconds = time.perf_counter() - t
    rss = [None] * comm.size
    dist.all_gather_object(rss, peak_rss_mb())
    return {"seconds": seconds, "rss_mb": max(rss), "n": m.n, "checksum": float(m.cov.sum())}


def worker(kind: str, path: str, cols: int, extra: str) -> dict:
    names = [f"x{j + 1}" for j in range(cols)]
    if kind == "moments-parquet":
        t = time.perf_counter()
        m = sample_moments(open_source(path), names)
        return {"seconds": time.perf_counter() - t, "rss_mb": peak_rss_mb(), "n": m.n,
                "checksum": float(m.cov.sum())}
    if kind == "moments-memory":
        import pyarrow.parquet as pq
        t0 = time.perf_counter()
        table = pq.read_table(path, columns=names)
        X = np.empty((table.num_rows, cols))
        for j, v in enumerate(names):
            X[:, j] = table.column(v).to_numpy()
        del table
        load = time.perf_counter() - t0
        t = time.perf_counter()
        m = sample_moments(X, names, columns=names)
        return {"seconds": time.perf_counter() - t, "load_seconds": load,
                "rss_mb": peak_rss_mb(), "n": m.n, "checksum": float(m.cov.sum())}
    if kind == "moments-2ranks":
        t = time.perf_counter()
        out = run_local(moments_rank, 2, path, names, timeout_s=3600)
        return {**out, "wall_seconds": time.perf_counter() - t}
    truth = json.loads(extra)
    if kind == "iwave-1x2":
        torch.set_num_threads(2)
        t = time.perf_counter()
        fit = torchfit.cfa(truth["syntax"], path, **IWAVE)
        fit.fit_measures()
        return {**iwave_summary(fit.parameter_estimates(), fit.info, truth),
                "wall_seconds": time.perf_counter() - t}
    if kind == "iwave-2x1":
        t = time.perf_counter()
        pe, info = run_local(iwave_rank, 2, path, truth["syntax"], threads=1, timeout_s=7200)
        return {**iwave_summary(pe, info, truth), "wall_seconds": time.perf_counter() - t}
    raise ValueError(kind)


def iwave_rank(path: str, syntax: str):
    fit = torchfit.cfa(syntax, path, distributed=True, **IWAVE)
    return None if fit is None else (fit.parameter_estimates(), fit.info)


def iwave_summary(pe, info, truth) -> dict:
    ld = pe[pe["op"] == "=~"]
    f, it = truth["factors"], truth["items"]
    true = np.asarray(truth["loadings"])[[it.index(v) for v in ld["rhs"]],
                                         [f.index(x) for x in ld["lhs"]]]
    return {"loading_rmse": float(np.sqrt(np.mean((ld["est"].to_numpy() - true) ** 2))),
            "iterations": info["iterations"], "train_seconds": info["seconds"],
            "converged": info["converged"], "nobs": info["nobs"],
            "ms_per_iteration": 1000 * info["seconds"] / max(1, info["iterations"])}


def run_worker(kind: str, path: Path, cols: int, extra: str = "") -> dict:
    return run_json(__file__, kind, ["--worker", kind, "--path", str(path), "--cols", str(cols),
                                     "--extra", extra], threads=2 if kind == "iwave-1x2" else 1)


# -- the runs -----------------------------------------------------------------------------
def parquet_bench(args, tmp: Path) -> dict:
    need = args.rows * args.cols * 8 * 1.1
    free = shutil.disk_usage(tmp).free
    rows = args.rows
    if need > 0.5 * free:
        rows = int(0.5 * free / (args.cols * 8 * 1.1))
        print(f"only {free / 1e9:.1f} GB free: --rows scaled down to {rows}")
    path = tmp / "moments.parquet"
    t = time.perf_counter()
    write_parquet(path, rows, args.cols, args.row_group)
    print(f"wrote {rows} x {args.cols} ({path.stat().st_size / 1e9:.2f} GB) in "
          f"{time.perf_counter() - t:.0f} s", flush=True)
    out = {"rows": rows, "cols": args.cols, "row_group": args.row_group,
           "file_gb": path.stat().st_size / 1e9}
    for kind in ("moments-parquet", "moments-2ranks", "moments-memory"):
        out[kind] = run_worker(kind, path, args.cols)
        out[kind]["seconds_per_1m_rows"] = out[kind]["seconds"] / (rows / 1e6)
    path.unlink()
    return out


def iwave_bench(args, tmp: Path) -> dict:
    path = tmp / "big5.parquet"
    truth = write_big5(path, args.iwave_rows, args.iwave_row_group)
    truth = {**truth, "loadings": np.asarray(truth["loadings"]).tolist()}
    extra = json.dumps(truth)
    out = {"rows": args.iwave_rows}
    for kind in ("iwave-1x2", "iwave-2x1"):
        out[kind] = run_worker(kind, path, 50, extra)
    path.unlink()
    return out


def markdown(res: dict) -> str:
    lines = [f"# bench/distributed.py ({res['date']}, {res['machine']})", "",
             f"load average at the start: {res['load']}", ""]
    if "parquet" in res:
        p = res["parquet"]
        lines += [f"## ML moments of {p['rows']:,} x {p['cols']} float64 "
                  f"({p['file_gb']:.2f} GB Parquet, row groups of {p['row_group']:,})", "",
                  "| path | seconds | s per 1M rows | peak RSS (MB) |", "|---|---|---|---|"]
        for kind in ("moments-parquet", "moments-2ranks", "moments-memory"):
            r = p[kind]
            lines.append(f"| {kind} | {r['seconds']:.1f} | {r['seconds_per_1m_rows']:.2f} | "
                         f"{r['rss_mb']:.0f} |")
        lines += ["", "moments-memory: the matrix already in memory (loading it took "
                  f"{p['moments-memory']['load_seconds']:.1f} s more); moments-2ranks: peak "
                  "RSS of the larger rank.", ""]
    if "iwave" in res:
        w = res["iwave"]
        lines += [f"## IWAVE, five-factor GRM on {w['rows']:,} x 50 (Parquet input)", "",
                  "| run | iterations | ms / iteration | training s | wall s | loading RMSE |",
                  "|---|---|---|---|---|---|"]
        for kind in ("iwave-1x2", "iwave-2x1"):
            r = w[kind]
            lines.append(f"| {kind} | {r['iterations']} | {r['ms_per_iteration']:.1f} | "
                         f"{r['train_seconds']:.1f} | {r['wall_seconds']:.1f} | "
                         f"{r['loading_rmse']:.4f} |")
        lines += ["", "1x2: one process with 2 torch threads (IWAVE's training steps at "
                  "256 rows run single-threaded: torchfit.estimate.ml.one_thread), batches of "
                  "256; 2x1: two gloo ranks with 1 thread each, batches of 256 per rank (512 "
                  "rows per step). Wall: the whole fit with the log-likelihood of all rows "
                  "(100 draws per row), from a fresh process (2x1: spawning the ranks too)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--cols", type=int, default=50)
    ap.add_argument("--row-group", type=int, default=100_000)
    ap.add_argument("--iwave-rows", type=int, default=621_307)
    ap.add_argument("--iwave-row-group", type=int, default=50_000)
    ap.add_argument("--only", choices=["parquet", "iwave"])
    ap.add_argument("--quick", action="store_true", help="200K x 20 and IWAVE 20K")
    ap.add_argument("--tmp", default=None, help="where the data sets are written")
    ap.add_argument("--worker"), ap.add_argument("--path"), ap.add_argument("--extra")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.path, args.cols, args.extra)))
        return
    if args.quick:
        args.rows, args.cols, args.row_group, args.iwave_rows = 200_000, 20, 20_000, 20_000
        args.iwave_row_group = 5_000
    res = {**header(), "args": vars(args)}
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        if args.only in (None, "parquet"):
            res["parquet"] = parquet_bench(args, Path(tmp))
        if args.only in (None, "iwave"):
            res["iwave"] = iwave_bench(args, Path(tmp))
    OUT.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.only is None else f"_{args.only}"
    (OUT / f"distributed{suffix}.json").write_text(json.dumps(res, indent=1))
    (OUT / f"distributed{suffix}.md").write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
